/**
 * Text dump of BTF types in the layout of `bpftool btf dump ... format raw`,
 * for humans and for comparing against bpftool.
 */
import type { Btf } from './btf.js';
import type { BtfType } from './types.js';

const linkage = (l: number) => ['static', 'global', 'extern'][l] ?? `(unknown)`;
const q = (s: string) => `'${s === '' ? '(anon)' : s}'`;

function intEncoding(e: number): string {
  if (e === 1) return 'SIGNED';
  if (e === 2) return 'CHAR';
  if (e === 4) return 'BOOL';
  if (e === 0) return '(none)';
  return 'UNKN';
}

/** One type as bpftool prints it (`[id] KIND 'name' ...`, members on tab-indented lines). */
export function formatBtfType(btf: Btf, id: number, t: BtfType = btf.get(id)): string {
  const head = `[${id}] ${t.kind} ${q(t.name)}`;
  switch (t.kind) {
    case 'INT':
      return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
    case 'PTR':
    case 'TYPEDEF':
    case 'VOLATILE':
    case 'CONST':
    case 'RESTRICT':
    case 'TYPE_TAG':
      return `${head} type_id=${t.type}`;
    case 'ARRAY':
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case 'STRUCT':
    case 'UNION':
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) => `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`,
        ),
      ].join('\n');
    case 'ENUM':
    case 'ENUM64':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${v.value}${t.kind === 'ENUM64' ? (t.signed ? 'LL' : 'ULL') : ''}`),
      ].join('\n');
    case 'FWD':
      return `${head} fwd_kind=${t.union ? 'union' : 'struct'}`;
    case 'FUNC':
      return `${head} type_id=${t.type} linkage=${linkage(t.linkage)}`;
    case 'FUNC_PROTO':
      return [
        `${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`),
      ].join('\n');
    case 'VAR':
      return `${head} type_id=${t.type}, linkage=${linkage(t.linkage)}`;
    case 'DATASEC':
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => {
          const vt = btf.type(v.type);
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size}${vt ? ` (${vt.kind} ${q(vt.name)})` : ''}`;
        }),
      ].join('\n');
    case 'FLOAT':
      return `${head} size=${t.size}`;
    case 'DECL_TAG':
      return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
  }
}

/** All types, one per line (with member lines), as `bpftool btf dump file F format raw` prints them. */
export function formatBtf(btf: Btf): string {
  return btf.types.map((t, i) => formatBtfType(btf, i + 1, t)).join('\n') + (btf.count ? '\n' : '');
}
