/**
 * Four test projects:
 * - `core`: unit and integration tests of the source (every test/**\/*.test.ts but the folders and files below).
 * - `sentinel`: the integration tests on real Sentinel setups, one file at a time, after the others.
 * - `types`: the type tests (test/**\/*.test-d.ts, `expectTypeOf`), checked by tsc without running anything.
 * - `package`: what a user installs. test/package/ packs the built package (run `npm run build` first; `npm test`
 *   does) and installs the tarball in fresh projects outside the repo (test/package/global_setup.ts); test/readme/
 *   compiles every ```ts block of README.md against the build.
 *
 * ioredis major: the tests run against ioredis 6 (RESP3, the devDependency `ioredis`) unless TIERCACHE_IOREDIS=5,
 * which points every `ioredis` import at the `ioredis-5` devDependency (npm:ioredis@5, RESP2): in the test files and
 * src/ through the alias below, and in every process the tests start (workers, the demo) through a resolve hook
 * loaded with NODE_OPTIONS. test/integration/ioredis_versions.test.ts checks which one actually ran.
 */
import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

/** Test files that run real Sentinel setups (see the `sentinel` project). */
const SENTINEL = ['test/integration/sentinel_*.test.ts', 'test/integration/replica_reads.test.ts']

const ioredis5 = process.env.TIERCACHE_IOREDIS === '5'
if (ioredis5) {
  const hook = fileURLToPath(new URL('./test/support/ioredis_major/register.mjs', import.meta.url))
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--import=${hook}`].filter(Boolean).join(' ')
}

export default defineConfig({
  resolve: { alias: ioredis5 ? [{ find: /^ioredis(?=$|\/)/, replacement: 'ioredis-5' }] : [] },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary_reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/package/**', 'test/readme/**', ...SENTINEL],
          setupFiles: ['test/support/setup.ts'],
        },
      },
      {
        // Each of these starts a primary, a replica and three sentinels and times failovers: run one file at a time,
        // after the rest (with two such setups beside the core suite on two cores, a SENTINEL FAILOVER once went
        // unannounced for 15 s).
        extends: true,
        test: {
          name: 'sentinel',
          include: SENTINEL,
          setupFiles: ['test/support/setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'types',
          typecheck: { enabled: true, only: true, include: ['test/**/*.test-d.ts'] },
        },
      },
      {
        extends: true,
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts', 'test/readme/**/*.test.ts'],
          globalSetup: ['test/package/global_setup.ts'],
          hookTimeout: 120_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
})
