/**
 * Every ```ts block of README.md compiles against the built package, so the docs cannot drift from the code.
 *
 * Convention for README blocks: each is a self-contained ES module (it may use top-level await) that imports what it
 * uses from 'tiercache' or 'tiercache/<subpath>' (resolved through the package's exports map to dist/, as a user's
 * import is) and from other packages (ioredis, node:…). Placeholders for the app's own code are declared in the block
 * (`declare const pricing: { fetch(id: number): Promise<number> }`), except the few that nearly every block uses,
 * which test/readme/prelude.d.ts declares once: `cache`, `db`, `Product`, `User`.
 *
 * Each block is written to its own .mts file (named after its line in README.md, so errors point there) in a
 * temporary directory whose node_modules links to the repo's, plus `tiercache` linking to the repo itself, and the
 * lot is compiled with one strict `tsc` run.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exec } from '../support/exec.js'
import { REPO } from '../package/fresh_project.js'

interface Block {
  line: number
  code: string
}

/** The ```ts blocks of a Markdown text, with the line each one's code starts on. */
export function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```ts') continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end]?.trim() !== '```') end++
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

const dir = mkdtempSync(join(tmpdir(), 'tiercache-readme-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('README.md', () => {
  const blocks = tsBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'))

  it('has ts blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(10)
  })

  it('every ts block compiles (strict) against the built package', async () => {
    mkdirSync(join(dir, 'node_modules'))
    for (const entry of readdirSync(join(REPO, 'node_modules')))
      if (entry !== '.bin') symlinkSync(join(REPO, 'node_modules', entry), join(dir, 'node_modules', entry))
    symlinkSync(REPO, join(dir, 'node_modules', 'tiercache'))
    const files = blocks.map((block) => {
      const file = `readme_line_${block.line}.mts`
      writeFileSync(join(dir, file), block.code)
      return file
    })
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'ES2022',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: [join(REPO, 'test/readme/prelude.d.ts'), ...files],
      }),
    )
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
    const ran = await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, timeout: 120_000 })
    const errors = (ran.stdout + ran.stderr).replace(/readme_line_(\d+)\.mts\((\d+),(\d+)\)/g, (_, line, row, col) => {
      return `README.md:${Number(line) + Number(row) - 1}:${col}`
    })
    expect(errors).toBe('')
    expect(ran.code).toBe(0)
  })
})
