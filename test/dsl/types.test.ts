/**
 * The DSL's static guarantees are TypeScript errors (a lookup used before its null check,
 * a write to a read-only context field, a helper a program type may not call, ...). The
 * `@ts-expect-error` lines in these tests assert them, and this test makes the compiler
 * check them: it type-checks test/dsl (and the example it includes) with the project's
 * TypeScript, so an expected error that goes away, or a new one, fails the suite.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('test/dsl type-checks, with every @ts-expect-error still an error', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    output = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  expect(output).toBe('');
}, 120_000);
