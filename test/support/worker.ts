import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** A child process speaking JSON lines on stdout; `next(pred)` resolves with the first message matching. */
export class Worker {
  readonly child: ChildProcess
  readonly messages: Array<Record<string, unknown>> = []
  readonly #listeners = new Set<() => void>()
  #exited = false

  constructor(script: string, args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        return
      }
      for (const listener of this.#listeners) listener()
    })
    this.child.on('exit', () => {
      this.#exited = true
      for (const listener of this.#listeners) listener()
    })
  }

  /** The first message (past or future) with `field`; rejects if the process exits or `timeout` ms pass first. */
  next(field: string, timeout = 15_000): Promise<Record<string, unknown>> {
    return this.first((m) => field in m, field, timeout)
  }

  /** The first message (past or future) matching `when`; rejects if the process exits or `timeout` ms pass first. */
  first(
    when: (message: Record<string, unknown>) => boolean,
    field = 'a matching message',
    timeout = 15_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.find(when)
        if (found !== undefined) resolve(found)
        else if (this.#exited)
          reject(new Error(`worker exited before sending ${field}: ${JSON.stringify(this.messages)}`))
        else return false
        return true
      }
      if (check()) return
      const timer = setTimeout(() => {
        this.#listeners.delete(listener)
        reject(new Error(`no ${field} from the worker within ${timeout} ms: ${JSON.stringify(this.messages)}`))
      }, timeout)
      const listener = (): void => {
        if (check()) {
          clearTimeout(timer)
          this.#listeners.delete(listener)
        }
      }
      this.#listeners.add(listener)
    })
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`)
  }

  kill(): void {
    if (!this.#exited) this.child.kill('SIGKILL')
  }
}
