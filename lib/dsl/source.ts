/**
 * Source positions of DSL calls: the first stack frame outside lib/dsl is the
 * user's line. The stack is captured as structured call sites (cheap), and
 * only that one frame is mapped back to its TypeScript source: through the
 * installed stack-trace formatter when there is one (vitest), else through
 * Node's source maps (`module.findSourceMap`, for compiled JavaScript in
 * dist/ built with `sourceMap: true`). Mapped positions are cached.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, findSourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SourcePos } from '../isa/insn.js';

(process as { setSourceMapsEnabled?: (on: boolean) => void }).setSourceMapsEnabled?.(true);

const FRAME = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):(\d+)\)?\s*$/;
const SKIP = /[/\\]lib[/\\]dsl[/\\][^/\\]+\.(?:[cm]?[jt]s)$|^node:|[/\\]node_modules[/\\]/;

let enabled = true;
const cache = new Map<string, SourcePos | undefined>();

/** Turns source capture on or off (off makes builds faster; instructions then carry no source). */
export function setSourceCapture(on: boolean): void {
  enabled = on;
}

function toPath(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

const maps = new Map<string, SourceMap | undefined>();

/** Reads `file`'s `//# sourceMappingURL=` map (for modules loaded before source maps were enabled). */
function loadSourceMap(file: string): SourceMap | undefined {
  if (maps.has(file)) return maps.get(file);
  let sm: SourceMap | undefined;
  try {
    const text = readFileSync(file, 'utf8');
    const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text);
    if (m && !m[1]!.startsWith('data:')) {
      const mapPath = resolve(dirname(file), m[1]!);
      const payload = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; sourceRoot?: string };
      payload.sources = payload.sources.map((src) => pathToFileURL(resolve(dirname(mapPath), payload.sourceRoot ?? '', src)).href);
      sm = new SourceMap(payload as never);
    }
  } catch {
    sm = undefined;
  }
  maps.set(file, sm);
  return sm;
}

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;

function mapSite(site: NodeJS.CallSite, file: string, line: number, column: number, prepare: Prepare | undefined): SourcePos {
  try {
    const sm = findSourceMap(file) ?? loadSourceMap(toPath(file));
    const e = sm?.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (e && e.originalSource !== undefined && e.originalLine !== undefined) {
      return { file: toPath(e.originalSource), line: e.originalLine + 1, column: (e.originalColumn ?? 0) + 1 };
    }
  } catch {
    /* no source map */
  }
  if (prepare) {
    try {
      const text = String(prepare(new Error(), [site]));
      const lines = text.split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        const m = FRAME.exec(lines[i]!);
        if (m) return { file: toPath(m[1]!), line: Number(m[2]), column: Number(m[3]) };
      }
    } catch {
      /* fall through */
    }
  }
  return { file: toPath(file), line, column };
}

/** The position of the innermost caller outside lib/dsl, or undefined when there is none. */
export function callerPos(): SourcePos | undefined {
  if (!enabled) return undefined;
  const prepare = Error.prepareStackTrace as Prepare | undefined;
  const limit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  Error.prepareStackTrace = (_e, s) => {
    sites = s;
    return '';
  };
  Error.stackTraceLimit = 40;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, callerPos);
  void holder.stack;
  Error.prepareStackTrace = prepare as never;
  Error.stackTraceLimit = limit;
  for (const site of sites) {
    const file = site.getFileName() ?? site.getScriptNameOrSourceURL?.();
    if (!file || SKIP.test(file)) continue;
    const line = site.getLineNumber() ?? 0;
    const column = site.getColumnNumber() ?? 0;
    const key = `${file}:${line}:${column}`;
    let pos = cache.get(key);
    if (!pos) {
      pos = mapSite(site, file, line, column, prepare);
      cache.set(key, pos);
    }
    return pos;
  }
  return undefined;
}
