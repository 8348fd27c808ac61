/**
 * The error thrown by layouts: a value that does not fit its field, or a
 * buffer of the wrong size.
 *
 * @module
 */
import { TsbpfError } from '../errors.js';

/** A value that does not fit its layout, a buffer of the wrong size, or a bad declaration. */
export class LayoutError extends TsbpfError {
  /** Field path from the outermost layout (`['inner', 'port']`); empty for the whole value or a declaration. */
  readonly path: readonly string[];
  /** The message without the path prefix. */
  readonly reason: string;

  constructor(reason: string, path: readonly string[] = []) {
    super(path.length > 0 ? `${formatPath(path)}: ${reason}` : reason);
    this.reason = reason;
    this.path = path;
  }

  /** The same error with `name` prepended to its path (used by enclosing structs and arrays). */
  within(name: string): LayoutError {
    return new LayoutError(this.reason, [name, ...this.path]);
  }
}

/** `['inner', '[1]', 'port']` as `inner[1].port`. */
export function formatPath(path: readonly string[]): string {
  return path.map((p, i) => (i === 0 || p.startsWith('[') ? p : `.${p}`)).join('');
}

/** A short printable form of a bad value for messages. */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return String(value);
}
