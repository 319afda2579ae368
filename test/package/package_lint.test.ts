/**
 * The packed tarball is what a well-kept package ships: the build, README, CHANGELOG and LICENSE and nothing else
 * (no source maps pointing at sources it does not ship), links for the registry page, ioredis as a peer; and it passes
 * the two package linters: Are the Types Wrong (`attw`, with .attw.json: the node16 profile, and require(esm)
 * allowed because Node 20.19+ and TypeScript's nodenext load ES modules with require(); see
 * test/package/runtime.test.ts) and publint in strict mode. Same as `npx @arethetypeswrong/cli --pack .` and
 * `npx publint --strict` in the repo, on the tarball the other package tests install.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { exec, execOk } from '../support/exec.js'
import { REPO } from './fresh_project.js'

const fixture = inject('package')
const bin = (name: string): string => join(REPO, 'node_modules/.bin', name)

describe.concurrent('package linters', () => {
  it('attw finds no problem in the tarball (node16 profile)', async () => {
    const ran = await exec(bin('attw'), [fixture.tarball, '--format', 'ascii'], { cwd: REPO, timeout: 60_000 })
    const output = ran.stdout + ran.stderr
    // With subpath exports attw reports node10 (which has no exports map) as failing to resolve them; the node16
    // profile ignores node10, so its verdict is the exit code, and no other resolution may have a problem.
    const problems = output.split('\n').filter((line) => /💀|❌|🐛|🥴|⚠️|🎭|❗️/.test(line) && !line.includes('ignored'))
    expect(problems).toEqual([])
    expect(ran.code).toBe(0)
  })

  it('the tarball holds the build, README, CHANGELOG and LICENSE, and no source maps or sources', async () => {
    const { stdout } = await execOk('tar', ['-tzf', fixture.tarball])
    const files = stdout
      .trim()
      .split('\n')
      .map((path) => path.replace(/^package\//, ''))
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
      ]),
    )
    expect(
      files.filter((file) => !/^(dist\/.+\.(js|d\.ts)|package\.json|README\.md|CHANGELOG\.md|LICENSE)$/.test(file)),
    ).toEqual([])
  })

  it('package.json links to the repository, issues and homepage (README links resolve on the registry page)', async () => {
    const { stdout } = await execOk('tar', ['-xOzf', fixture.tarball, 'package/package.json'])
    const manifest = JSON.parse(stdout) as Record<string, unknown>
    expect(manifest).toMatchObject({
      repository: { type: 'git', url: expect.stringMatching(/^git\+https:\/\//) as unknown },
      bugs: { url: expect.stringMatching(/^https:\/\//) as unknown },
      homepage: expect.stringMatching(/^https:\/\//) as unknown,
      license: 'MIT',
      peerDependencies: { ioredis: '^5.11.1 || ^6.0.0' },
    })
    expect(manifest.dependencies).not.toHaveProperty('ioredis')
  })

  it('publint --strict finds nothing to report in the tarball', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiercache-publint-'))
    try {
      await execOk('tar', ['-xzf', fixture.tarball, '-C', dir])
      const ran = await exec(bin('publint'), [join(dir, 'package'), '--strict', '--pack', 'false'], { cwd: REPO })
      expect(ran.stdout + ran.stderr).toContain('All good!')
      expect(ran.code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
