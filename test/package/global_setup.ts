/**
 * Global setup of the `package` test project (vitest.config.ts): packs the build once and installs the tarball
 * in two fresh projects outside the repo, one on ioredis 6 and one on ioredis 5, for every package test file.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { createProject, entryPoints, pack } from './fresh_project.js'

export interface PackageFixture {
  /** The packed .tgz. */
  tarball: string
  /** `tiercache`, `tiercache/…`: every entry point of the exports map. */
  entryPoints: string[]
  /** A project with ioredis 6 that denies msgpackr-extract's install script (`allowScripts`). */
  ioredis6: string
  /** A project with ioredis 5. */
  ioredis5: string
  /** What `npm ci` printed in the ioredis 6 project. */
  install6: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    package: PackageFixture
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const root = mkdtempSync(join(tmpdir(), 'tiercache-package-'))
  try {
    const packed = await pack(root)
    const ioredis6 = join(root, 'ioredis6')
    const ioredis5 = join(root, 'ioredis5')
    const [install6] = await Promise.all([
      createProject(ioredis6, packed, {
        ioredisFrom: 'node_modules/ioredis',
        allowScripts: { 'msgpackr-extract': false },
      }),
      createProject(ioredis5, packed, { ioredisFrom: 'node_modules/ioredis-5' }),
    ])
    project.provide('package', {
      tarball: packed.tarball,
      entryPoints: entryPoints(packed.manifest),
      ioredis6,
      ioredis5,
      install6,
    })
  } catch (error) {
    rmSync(root, { recursive: true, force: true })
    throw error
  }
  return () => rmSync(root, { recursive: true, force: true })
}
