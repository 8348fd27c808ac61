/** A DSL-like collection spec for the ELF tests (built from ISA instructions, as the DSL will). */
import { BtfBuilder } from '../../lib/btf/index.js';
import { collectionSpec, PinType, type CollectionSpec } from '../../lib/elf/index.js';
import { alu64Imm, call, callLocal, exit, jmpImm, ldMapFd, ldMapValue, link, mov64Imm, mov64Reg, stx, type Insn } from '../../lib/isa/index.js';
import { MapType } from '../../lib/uapi/index.js';

/** A DSL-like collection: two programs sharing a subprogram, a typed hash map, global data. */
export function dslLikeSpec(): CollectionSpec {
  const b = new BtfBuilder();
  const key = b.uint(4);
  const value = b.struct('pair', [
    { name: 'packets', type: b.uint(8) },
    { name: 'bytes', type: b.uint(8) },
  ]);
  const src = (line: number) => ({ file: '/nonexistent/prog.ts', line, column: 3 });
  const counter = (name: string): { insns: Insn[]; functions: Array<{ name: string; slot: number }> } => {
    const body: Insn[] = [
      { ...mov64Imm(6, 0), source: src(1) },
      { ...stx('u32', 10, 6, -4), source: src(2) },
      { ...mov64Reg(2, 10), source: src(3) },
      alu64Imm('add', 2, -4),
      { ...ldMapFd(1, 'stats'), source: src(4) },
      call(1),
      { ...jmpImm('eq', 0, 0, 'out'), source: src(5) },
      { ...ldMapValue(1, '.data', 4), source: src(6) },
      { ...callLocal('helper'), source: src(7) },
      { ...exit(), source: src(7) },
    ];
    const labels = new Map<string, number>([
      ['out', body.length],
      ['helper', body.length + 2],
    ]);
    body.push({ ...mov64Imm(0, 2), source: src(8) }, exit(), { ...mov64Imm(0, 1), source: src(20) }, exit());
    const linked = link(body, labels);
    return { insns: linked.insns, functions: [{ name, slot: 0 }, { name: 'helper', slot: linked.labels.get('helper')! }] };
  };
  const a = counter('count_a');
  const c = counter('count_b');
  return collectionSpec({
    btf: b,
    programs: [
      { name: 'count_a', section: 'xdp', ...a },
      { name: 'count_b', section: 'tc', ...c },
    ],
    maps: [
      { name: 'stats', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 16, maxEntries: 64, keyType: key, valueType: value, pinning: PinType.BY_NAME },
      { name: 'slot1', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, valueType: b.uint(8) },
      {
        name: 'outer',
        type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
        keySize: 4,
        valueSize: 4,
        maxEntries: 2,
        innerMap: { name: 'x', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
        slots: [{ key: 1, value: 'slot1', kind: 'map' }],
      },
      { name: '.data', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, initialValue: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    ],
    sourceLine: (_f, line) => `line ${line}`,
  });
}

