/**
 * The circuit breaker in front of Redis: after repeated failures commands fail fast instead of
 * waiting for their timeout. Fed by RedisConnection.
 * @internal
 */
export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  threshold: number
  /** How long the circuit stays open before a trial call is let through (ms). */
  cooldown: number
  onChange: (state: CircuitState) => void
}

/**
 * Stops sending commands to a Redis that keeps failing: after `threshold` consecutive
 * failures the circuit opens and calls fail fast; after `cooldown` calls are let through
 * again (half-open) and the first success closes it, the first failure reopens it.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions
  #failures = 0
  #openUntil = 0
  #state: CircuitState = 'closed'

  constructor(options: CircuitBreakerOptions) {
    this.#options = options
  }

  get state(): CircuitState {
    return this.#state
  }

  /** False while the circuit is open: the caller must not send the command. */
  allow(): boolean {
    if (this.#openUntil === 0) return true
    if (Date.now() < this.#openUntil) return false
    if (this.#state === 'open') this.#set('half-open')
    return true
  }

  success(): void {
    if (this.#failures === 0 && this.#openUntil === 0) return
    this.#failures = 0
    this.#openUntil = 0
    this.#set('closed')
  }

  failure(): void {
    this.#failures++
    if (this.#state === 'half-open' || this.#failures >= this.#options.threshold) {
      this.#openUntil = Date.now() + this.#options.cooldown
      this.#set('open')
    }
  }

  #set(state: CircuitState): void {
    if (state === this.#state) return
    this.#state = state
    this.#options.onChange(state)
  }
}
