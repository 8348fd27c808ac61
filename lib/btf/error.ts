import { TsbpfError } from '../errors.js';

/**
 * Malformed BTF or .BTF.ext: bad magic or header, a record or string past the
 * end of its section, an unknown kind, a reference to a type id that does not
 * exist, or a type graph with a loop. `offset` is the byte offset in the BTF
 * blob (from its first byte), `typeId` the type involved, when known.
 */
export class BtfError extends TsbpfError {
  /** Byte offset in the BTF (or .BTF.ext) blob, when known. */
  readonly offset: number | undefined;
  /** The type id involved, when known. */
  readonly typeId: number | undefined;
  constructor(message: string, where: { offset?: number; typeId?: number } = {}, options?: { cause?: unknown }) {
    const at = [where.typeId !== undefined ? `type [${where.typeId}]` : '', where.offset !== undefined ? `offset ${where.offset}` : '']
      .filter(Boolean)
      .join(', ');
    super(at ? `${message} (${at})` : message, options);
    this.offset = where.offset;
    this.typeId = where.typeId;
  }
}
