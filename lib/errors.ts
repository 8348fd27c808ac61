/**
 * The root of every error tsbpf throws. Each layer has its own subclass
 * (`AsmError`, `ElfError`, `BtfError`, `BpfError`, `VerifierError`, `DslError`),
 * so callers can catch one family or all of them with `instanceof TsbpfError`.
 */
export class TsbpfError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
