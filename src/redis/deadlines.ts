/**
 * The timeout of a connection's commands. Every command has the same timeout, so deadlines come in the order
 * commands are sent: they wait in one queue watched by one timer (for the oldest), rather than a timer each (a timer
 * per command cost more than the rest of a cache hit's L2 path).
 *
 * A settled command lets go of its deadline at once: its `reject` is dropped (it holds the command's promise, and so
 * its reply: a 10 KB value read 50,000 times a second kept about 200 MB of replies alive for the 500 ms timeout,
 * and the garbage collector's work on them doubled the CPU time of an L2 hit), and settled deadlines at the head of
 * the queue, which replies settle in order, leave it without waiting for the timer.
 * @internal
 */

export interface Deadline {
  readonly at: number
  readonly command: string
  /** Fails the command; dropped (a no-op) once the command settled. */
  reject: (error: unknown) => void
  /** False once the reply came (or the deadline passed). */
  open: boolean
}

const SETTLED = (): void => undefined

/** Settled deadlines at the head are dropped from the array in one splice once there are this many. */
const COMPACT_AT = 1024

export class DeadlineQueue {
  readonly #timeout: number
  /** Called for each command whose deadline passed, before it is failed. */
  readonly #onExpired: (deadline: Deadline) => void
  readonly #expiredError: (deadline: Deadline) => Error
  /** Oldest first; entries before `#head` are settled and waiting to be spliced off. */
  #queue: Deadline[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(timeout: number, expiredError: (deadline: Deadline) => Error, onExpired: (deadline: Deadline) => void) {
    this.#timeout = timeout
    this.#expiredError = expiredError
    this.#onExpired = onExpired
  }

  /** Deadlines the queue still holds: the open ones, and settled ones behind an older open one. */
  get held(): number {
    return this.#queue.length - this.#head
  }

  /** Puts a command under the watch: past its deadline, `reject` gets the expired error. */
  watch(command: string, reject: (error: unknown) => void): Deadline {
    const deadline: Deadline = { at: Date.now() + this.#timeout, command, reject, open: true }
    this.#queue.push(deadline)
    if (this.#timer === undefined && !this.#closed) this.#timer = this.#schedule(this.#timeout)
    return deadline
  }

  /** The command's reply came: true when it came in time (the deadline was still open). */
  settle(deadline: Deadline): boolean {
    if (!deadline.open) return false
    deadline.open = false
    deadline.reject = SETTLED
    this.#dropSettledHead()
    return true
  }

  /** Fails every open command with `error` and stops watching. */
  close(error: () => Error): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    const queue = this.#queue
    this.#queue = []
    for (let i = this.#head; i < queue.length; i++) {
      const deadline = queue[i] as Deadline
      if (!deadline.open) continue
      deadline.open = false
      deadline.reject(error())
    }
    this.#head = 0
  }

  #dropSettledHead(): void {
    const queue = this.#queue
    while (this.#head < queue.length && !(queue[this.#head] as Deadline).open) this.#head++
    if (this.#head === queue.length) {
      queue.length = 0
      this.#head = 0
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= queue.length) {
      queue.splice(0, this.#head)
      this.#head = 0
    }
  }

  /** Fails the commands past their deadline and waits for the next oldest. */
  readonly #expire = (): void => {
    this.#timer = undefined
    const now = Date.now()
    const queue = this.#queue
    for (let i = this.#head; i < queue.length; i++) {
      const deadline = queue[i] as Deadline
      if (!deadline.open) continue
      if (deadline.at > now) break
      const reject = deadline.reject
      deadline.open = false
      deadline.reject = SETTLED
      this.#onExpired(deadline)
      reject(this.#expiredError(deadline))
    }
    this.#dropSettledHead()
    let next: Deadline | undefined
    for (let i = this.#head; i < queue.length && next === undefined; i++)
      if ((queue[i] as Deadline).open) next = queue[i]
    if (next !== undefined && !this.#closed) this.#timer = this.#schedule(Math.max(1, next.at - now))
  }

  /**
   * The deadline timer does not hold the process open: while a reply can still come, the connection (or its
   * reconnection timer) does; closing the connection rejects what is pending.
   */
  #schedule(ms: number): NodeJS.Timeout {
    return setTimeout(this.#expire, ms).unref()
  }
}
