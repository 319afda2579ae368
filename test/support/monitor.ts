/**
 * Records the commands clients send to a real Redis (MONITOR), so a test can count round trips.
 * Commands a Lua script runs are reported with source 'lua' and are not counted as sent.
 */
import { Redis } from 'ioredis'

export interface SeenCommand {
  name: string
  args: string[]
  /** `ip:port` of the client, or `lua` for a command run by a script. */
  source: string
}

/** Runs `action` and resolves with every command clients sent meanwhile (not those run inside scripts). */
export async function commandsDuring(url: string, action: () => Promise<unknown>): Promise<SeenCommand[]> {
  const admin = new Redis(url)
  const monitor = await startMonitor(admin)
  const seen: SeenCommand[] = []
  const marker = `marker-${Math.random()}`
  let sawMarker!: () => void
  const done = new Promise<void>((resolve) => (sawMarker = resolve))
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const [name = '', ...rest] = args
    if (name.toLowerCase() === 'echo' && rest[0] === marker) return sawMarker()
    seen.push({ name: name.toLowerCase(), args: rest, source })
  })
  try {
    await action()
    const probe = new Redis(url)
    await probe.echo(marker) // MONITOR reports in order: once the marker shows, everything before it has
    await done
    probe.disconnect()
    return seen.filter((c) => c.source !== 'lua' && !['client', 'hello', 'info', 'select'].includes(c.name))
  } finally {
    monitor.disconnect()
    admin.disconnect()
  }
}

/**
 * `admin.monitor()`, retried on ioredis's "Command queue state error": ioredis enters monitoring mode in a promise
 * continuation after MONITOR's OK, so a command another client sends at that moment, arriving in the same read as the
 * OK, is taken for a reply nobody waits for. That line precedes the action, so trying again loses nothing.
 */
async function startMonitor(admin: Redis): Promise<Redis> {
  for (let attempt = 1; ; attempt++) {
    const monitor = admin.duplicate({ monitor: true, lazyConnect: false })
    try {
      await new Promise<void>((resolve, reject) => {
        monitor.once('error', reject)
        monitor.once('monitoring', () => {
          monitor.off('error', reject)
          resolve()
        })
      })
      return monitor
    } catch (error) {
      monitor.disconnect()
      if (attempt === 3 || !String(error).includes('Command queue state error')) throw error
    }
  }
}
