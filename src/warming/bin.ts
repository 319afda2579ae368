#!/usr/bin/env node
/**
 * The `warm-cache` executable (package.json `bin`). Exits explicitly once the runs are over, so that a
 * database pool the config left open cannot keep the process alive (output to pipes and terminals is
 * written synchronously on Linux and macOS, so nothing is cut).
 */
import { main } from './cli.js'

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `warm-cache: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exit(1)
  },
)
