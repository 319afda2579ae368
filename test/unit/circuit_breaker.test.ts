import { describe, expect, it, vi } from 'vitest'
import { CircuitBreaker, type CircuitState } from '../../src/redis/circuit_breaker.js'

describe('CircuitBreaker', () => {
  it('opens after `threshold` consecutive failures, half-opens after the cooldown, closes on success', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const states: CircuitState[] = []
      const breaker = new CircuitBreaker({ threshold: 3, cooldown: 1000, onChange: (s) => states.push(s) })
      breaker.failure()
      breaker.failure()
      breaker.success() // not consecutive any more
      breaker.failure()
      breaker.failure()
      expect(breaker.allow()).toBe(true)
      breaker.failure()
      expect(breaker.state).toBe('open')
      expect(breaker.allow()).toBe(false)
      vi.advanceTimersByTime(1000)
      expect(breaker.allow()).toBe(true)
      expect(breaker.state).toBe('half-open')
      breaker.failure() // a failed trial reopens at once
      expect(breaker.allow()).toBe(false)
      vi.advanceTimersByTime(1000)
      expect(breaker.allow()).toBe(true)
      breaker.success()
      expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed'])
    } finally {
      vi.useRealTimers()
    }
  })
})
