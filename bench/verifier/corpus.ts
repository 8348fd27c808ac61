/**
 * The differential corpus for verifier-lite: hand-written valid and invalid
 * programs for every rule class, reference-style programs (XDP firewall, tc
 * rewrite, cgroup sock_addr rewrites, socket lookup, ringbuf, bpf-to-bpf
 * calls), mechanical mutants of them (drop a check, shift an offset, return
 * 2, write a read-only field, leak a reference) and seeded random programs.
 * Map references are `lddw src=1 imm=<index into maps>`.
 */
import {
  type Insn, mov64Imm as movi, mov64Reg as movr, mov32Imm as movwi, alu64Imm as ai, alu64Reg as ar, alu32Imm as awi,
  alu32Reg as awr, exit, ldx, ldxsx, stx, st, jmpImm, jmpReg, jmp32Imm, call, callLocal, ja, ldMapFd, ldImm64, insn, atomic,
  ldAbs, neg64, toBe,
} from '../../lib/isa/insn.js';
import { ProgramBuilder } from '../../lib/isa/link.js';
import { ProgType as PT, AttachType as AT } from '../../lib/uapi/prog-types.js';
import { MapType as MT } from '../../lib/uapi/map-types.js';
import type { MapSpecLite } from '../../lib/verifier/types.js';

/** One corpus program. */
export interface CorpusEntry {
  name: string;
  /** Rule class it exercises. */
  rule: string;
  insns: Insn[];
  progType: number;
  attach?: number;
  maps?: MapSpecLite[];
  gpl?: boolean;
}

/** Builds a program from instructions and `'label:'` strings. */
export function prog(...items: (Insn | string)[]): Insn[] {
  const b = new ProgramBuilder();
  for (const it of items) {
    if (typeof it === 'string') b.label(it.replace(/:$/, ''));
    else b.emit({ ...it });
  }
  return b.link().insns;
}

const XDP: number = PT.BPF_PROG_TYPE_XDP;
const TC = PT.BPF_PROG_TYPE_SCHED_CLS;
const SOCK = PT.BPF_PROG_TYPE_SOCKET_FILTER;
const SA = PT.BPF_PROG_TYPE_CGROUP_SOCK_ADDR;

const HASH_U32_U64: MapSpecLite = { name: 'counts', type: MT.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 64 };
const ARRAY_16: MapSpecLite = { name: 'arr', type: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 };
const RINGBUF: MapSpecLite = { name: 'rb', type: MT.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };
const PROG_ARRAY: MapSpecLite = { name: 'jt', type: MT.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 };
const DEVMAP: MapSpecLite = { name: 'dev', type: MT.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 };

/** data in r2, data_end in r3 (XDP). */
const xdpPkt = [ldx('u32', 2, 1, 0), ldx('u32', 3, 1, 4)];
/** data in r2, data_end in r3 (tc). */
const tcPkt = [ldx('u32', 2, 1, 76), ldx('u32', 3, 1, 80)];

/** The reference-style programs (valid; their mutants are derived below). */
export function referencePrograms(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  out.push({
    name: 'ref/xdp_firewall', rule: 'packet', progType: XDP, maps: [HASH_U32_U64],
    insns: prog(
      ...xdpPkt, movr(4, 2), ai('add', 4, 34), jmpReg('gt', 4, 3, 'pass'),
      ldx('u16', 5, 2, 12), jmpImm('ne', 5, 0x8, 'pass'),
      ldx('u32', 6, 2, 26), stx('u32', 10, 6, -4),
      movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), jmpImm('eq', 0, 0, 'pass'),
      ldx('u64', 1, 0, 0), ai('add', 1, 1), stx('u64', 0, 1, 0), movi(0, 1), exit(),
      'pass:', movi(0, 2), exit(),
    ),
  });
  out.push({
    name: 'ref/tc_rewrite', rule: 'helper', progType: TC,
    insns: prog(
      movr(6, 1), ldx('u32', 7, 6, 8), ai('or', 7, 0x10), stx('u32', 6, 7, 8),
      movr(1, 6), movi(2, 14), movr(3, 10), ai('add', 3, -20), movi(4, 20), call(26),
      jmpImm('ne', 0, 0, 'out'), ldx('u32', 8, 10, -8),
      movr(1, 6), movi(2, 24), movi(3, 0), movr(4, 8), movi(5, 4), call(10),
      movr(1, 6), movi(2, 14 + 12), movr(3, 10), ai('add', 3, -8), movi(4, 4), movi(5, 0), call(9),
      ldx('u32', 2, 6, 76), ldx('u32', 3, 6, 80), movr(4, 2), ai('add', 4, 14), jmpReg('gt', 4, 3, 'out'),
      ldx('u8', 5, 2, 13), stx('u8', 2, 5, 12),
      'out:', movi(0, 0), exit(),
    ),
  });
  out.push({
    name: 'ref/connect4_rewrite', rule: 'ctx', progType: SA, attach: AT.BPF_CGROUP_INET4_CONNECT, maps: [HASH_U32_U64],
    insns: prog(
      movr(6, 1), ldx('u32', 7, 6, 4), ldx('u32', 8, 6, 24), ldx('u32', 9, 6, 36),
      jmpImm('ne', 9, 6, 'ok'), stx('u32', 10, 7, -4), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1),
      jmpImm('eq', 0, 0, 'ok'), ldx('u32', 1, 0, 0), stx('u32', 6, 1, 4), ldx('u16', 1, 0, 4), stx('u32', 6, 1, 24),
      'ok:', movi(0, 1), exit(),
    ),
  });
  out.push({
    name: 'ref/sendmsg4_src', rule: 'ctx', progType: SA, attach: AT.BPF_CGROUP_UDP4_SENDMSG,
    insns: prog(ldx('u32', 2, 1, 4), jmpImm('ne', 2, 0x0100007f, 'out'), movwi(2, 0x0200007f), stx('u32', 1, 2, 40), 'out:', movi(0, 1), exit()),
  });
  out.push({
    name: 'ref/recvmsg4_rewrite', rule: 'return', progType: SA, attach: AT.BPF_CGROUP_UDP4_RECVMSG,
    insns: prog(ldx('u32', 2, 1, 24), jmpImm('ne', 2, 0x3500, 'out'), movwi(2, 0x0100007f), stx('u32', 1, 2, 4), 'out:', movi(0, 1), exit()),
  });
  out.push({
    name: 'ref/getpeername4', rule: 'return', progType: SA, attach: AT.BPF_CGROUP_INET4_GETPEERNAME,
    insns: prog(ldx('u32', 2, 1, 4), movwi(3, 0x0100007f), stx('u32', 1, 3, 4), movi(0, 1), exit()),
  });
  out.push({
    name: 'ref/tc_sk_lookup', rule: 'reference', progType: TC,
    insns: prog(
      movr(6, 1), st('u64', 10, -16, 0), st('u32', 10, -8, 0x0100007f), st('u32', 10, -12, 0x0100007f), st('u32', 10, -4, 0x5000),
      movr(1, 6), movr(2, 10), ai('add', 2, -16), movi(3, 12), movi(4, -1), movi(5, 0), call(84),
      jmpImm('eq', 0, 0, 'none'), movr(1, 0), call(86), movi(0, 2), exit(),
      'none:', movi(0, 0), exit(),
    ),
  });
  out.push({
    name: 'ref/xdp_ringbuf', rule: 'reference', progType: XDP, maps: [RINGBUF],
    insns: prog(
      ldMapFd(1, 0), movi(2, 16), movi(3, 0), call(131), jmpImm('eq', 0, 0, 'out'),
      st('u64', 0, 0, 7), st('u64', 0, 8, 9), movr(1, 0), movi(2, 0), call(132),
      'out:', movi(0, 2), exit(),
    ),
  });
  out.push({
    name: 'ref/xdp_ihl', rule: 'packet', progType: XDP,
    insns: prog(
      ...xdpPkt, movr(4, 2), ai('add', 4, 34), jmpReg('gt', 4, 3, 'pass'),
      ldx('u8', 5, 2, 14), ai('and', 5, 0xf), ai('lsh', 5, 2), movr(6, 2), ar('add', 6, 5), movr(7, 6), ai('add', 7, 14 + 4),
      jmpReg('gt', 7, 3, 'pass'), ldx('u16', 0, 6, 14 + 2), 'pass:', movi(0, 2), exit(),
    ),
  });
  out.push({
    name: 'ref/array_index', rule: 'map_value', progType: XDP, maps: [ARRAY_16],
    insns: prog(
      ldx('u32', 6, 1, 16), st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1),
      jmpImm('eq', 0, 0, 'out'), ai('and', 6, 3), ai('lsh', 6, 2), ar('add', 0, 6), ldx('u32', 1, 0, 0), 'out:', movi(0, 2), exit(),
    ),
  });
  out.push({
    name: 'ref/bounded_loop', rule: 'loop', progType: XDP,
    insns: prog(movi(0, 0), movi(1, 0), 'loop:', ar('add', 0, 1), ai('add', 1, 1), jmpImm('lt', 1, 16, 'loop'), ai('and', 0, 1), exit()),
  });
  out.push({
    name: 'ref/bpf2bpf', rule: 'structure', progType: XDP,
    insns: prog(movi(1, 5), callLocal('f'), ai('add', 0, 1), exit(), 'f:', movr(0, 1), ai('mul', 0, 3), exit()),
  });
  out.push({
    name: 'ref/tail_call', rule: 'helper', progType: XDP, maps: [PROG_ARRAY],
    insns: prog(ldMapFd(2, 0), movi(3, 1), call(12), movi(0, 2), exit()),
  });
  out.push({
    name: 'ref/redirect_map', rule: 'helper', progType: XDP, maps: [DEVMAP],
    insns: prog(ldMapFd(1, 0), movi(2, 0), movi(3, 2), call(51), exit()),
  });
  out.push({
    name: 'ref/tc_spill_fill', rule: 'stack', progType: TC,
    insns: prog(
      ...tcPkt, stx('u64', 10, 2, -8), stx('u64', 10, 3, -16), call(7), ldx('u64', 2, 10, -8), ldx('u64', 3, 10, -16),
      movr(4, 2), ai('add', 4, 20), jmpReg('gt', 4, 3, 'out'), ldx('u32', 0, 2, 16), 'out:', movi(0, 0), exit(),
    ),
  });
  return out;
}

/** Hand-written valid and invalid programs per rule class. */
export function rulePrograms(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  const add = (rule: string, name: string, progType: number, insns: Insn[], extra: Partial<CorpusEntry> = {}) =>
    out.push({ name: `${rule}/${name}`, rule, progType, insns, ...extra });
  // structure
  add('structure', 'ok', XDP, prog(movi(0, 0), exit()));
  add('structure', 'no_exit', XDP, [movi(0, 0)]);
  add('structure', 'jump_oob', XDP, [movi(0, 0), ja(5), exit()]);
  add('structure', 'jump_back_oob', XDP, [movi(0, 0), ja(-5), exit()]);
  add('structure', 'unreachable', XDP, [movi(0, 0), exit(), movi(0, 0), exit()]);
  add('structure', 'bad_opcode', XDP, [insn(0xff, 0, 0, 0, 0), movi(0, 0), exit()]);
  add('structure', 'alu_reserved', XDP, [movi(0, 0), insn(0x07, 0, 1, 0, 1), exit()]);
  add('structure', 'mov_reserved', XDP, [insn(0xb7, 0, 0, 3, 1), exit()]);
  add('structure', 'exit_reserved', XDP, [movi(0, 0), insn(0x95, 1, 0, 0, 0)]);
  add('structure', 'ja_reserved', XDP, [movi(0, 0), insn(0x05, 0, 0, 0, 1), exit()]);
  add('structure', 'call_reserved', XDP, [insn(0x85, 1, 0, 0, 7), movi(0, 0), exit()]);
  add('structure', 'ldx_reserved', XDP, [insn(0x61, 0, 1, 0, 1), exit()]);
  add('structure', 'st_reserved', XDP, [insn(0x62, 10, 1, -4, 1), movi(0, 0), exit()]);
  add('structure', 'stx_reserved', XDP, [movi(2, 0), insn(0x63, 10, 2, -4, 1), movi(0, 0), exit()]);
  add('structure', 'lddw_trunc', XDP, [movi(0, 0), exit(), insn(0x18, 0, 0, 0, 0)]);
  add('structure', 'lddw_ok', XDP, prog(ldImm64(0, 0x1234567890n), ai('and', 0, 1), exit()));
  add('structure', 'lddw_bad_src', XDP, [{ ...ldImm64(0, 1n), src: 9 }, exit()]);
  add('structure', 'jump_into_lddw', XDP, [jmpImm('eq', 1, 0, 1), ldImm64(0, 1n), exit()]);
  add('structure', 'div_zero', XDP, [movi(0, 1), ai('div', 0, 0), exit()]);
  add('structure', 'mod_zero32', XDP, [movi(0, 1), awi('mod', 0, 0), exit()]);
  add('structure', 'div_reg_ok', XDP, [movi(0, 1), movi(2, 0), ar('div', 0, 2), exit()]);
  add('structure', 'shift_64', XDP, [movi(0, 1), ai('lsh', 0, 64), exit()]);
  add('structure', 'shift32_32', XDP, [movi(0, 1), awi('rsh', 0, 32), exit()]);
  add('structure', 'shift_neg', XDP, [movi(0, 1), ai('arsh', 0, -1), exit()]);
  add('structure', 'fp_write', XDP, [movi(10, 0), movi(0, 0), exit()]);
  add('structure', 'fp_add', XDP, [ai('add', 10, 8), movi(0, 0), exit()]);
  add('structure', 'r11', XDP, [movi(11, 0), movi(0, 0), exit()]);
  add('structure', 'r12_src', XDP, [movr(0, 12), exit()]);
  add('structure', 'call_bad_dest', XDP, [callLocal(10), movi(0, 0), exit()]);
  add('structure', 'bpf2bpf_ok', XDP, prog(callLocal('f'), exit(), 'f:', movi(0, 1), exit()));
  add('structure', 'bpf2bpf_fallthrough', XDP, prog(callLocal('f'), movi(0, 0), 'f:', movi(0, 1), exit()));
  add('structure', 'neg_reserved', XDP, [movi(0, 1), insn(0x87, 0, 0, 0, 1), exit()]);
  add('structure', 'end_bad_imm', XDP, [movi(0, 1), insn(0xd4, 0, 0, 0, 8), exit()]);
  add('structure', 'bswap_ok', XDP, [movi(0, 1), toBe(0, 16), exit()]);
  add('structure', 'neg_ok', XDP, [movi(0, 1), neg64(0), exit()]);
  add('structure', 'ld_abs_xdp', XDP, [ldAbs('u8', 0), exit()]);
  add('structure', 'ld_abs_socket', SOCK, [movr(6, 1), ldAbs('u8', 0), exit()]);
  add('structure', 'ld_abs_dw', SOCK, [movr(6, 1), insn(0x38, 0, 0, 0, 0), exit()]);
  add('structure', 'jmp32_call', XDP, [insn(0x86, 0, 0, 0, 7), movi(0, 0), exit()]);
  add('structure', 'atomic_bad', XDP, [movi(1, 0), stx('u64', 10, 1, -8), insn(0xdb, 10, 1, -8, 0x33), movi(0, 0), exit()]);
  add('structure', 'atomic_ok', XDP, [movi(1, 1), stx('u64', 10, 1, -8), atomic('u64', 'fetch_add', 10, 1, -8), movr(0, 1), exit()]);
  add('structure', 'atomic_ctx', XDP, [movi(2, 1), atomic('u32', 'add', 1, 2, 0), movi(0, 0), exit()]);
  // uninit
  add('uninit', 'r0_exit', XDP, [exit()]);
  add('uninit', 'r2_read', XDP, [movr(0, 2), exit()]);
  add('uninit', 'after_call', XDP, [movi(1, 1), call(7), movr(0, 1), exit()]);
  add('uninit', 'after_call_r6_ok', XDP, [movi(6, 1), call(7), movr(0, 6), exit()]);
  add('uninit', 'one_branch', XDP, prog(ldx('u32', 2, 1, 12), jmpImm('eq', 2, 1, 'l'), movi(0, 0), 'l:', exit()));
  add('uninit', 'both_branches_ok', XDP, prog(ldx('u32', 2, 1, 12), movi(0, 1), jmpImm('eq', 2, 1, 'l'), movi(0, 0), 'l:', exit()));
  add('uninit', 'jmp_src', XDP, prog(movi(0, 0), jmpReg('eq', 0, 5, 'l'), 'l:', exit()));
  add('uninit', 'store_src', XDP, [stx('u64', 10, 3, -8), movi(0, 0), exit()]);
  // ctx: sample accesses across program types
  const ctxCases: [string, number, number | undefined, Insn[]][] = [
    ['xdp_data_ok', XDP, undefined, [ldx('u32', 0, 1, 0), movi(0, 2), exit()]],
    ['xdp_data_u16', XDP, undefined, [ldx('u16', 0, 1, 0), movi(0, 2), exit()]],
    ['xdp_write', XDP, undefined, [movi(2, 0), stx('u32', 1, 2, 12), movi(0, 2), exit()]],
    ['xdp_egress', XDP, undefined, [ldx('u32', 0, 1, 20), exit()]],
    ['xdp_egress_devmap', XDP, AT.BPF_XDP_DEVMAP, [ldx('u32', 0, 1, 20), exit()]],
    ['xdp_oob', XDP, undefined, [ldx('u32', 0, 1, 24), exit()]],
    ['tc_mark_write', TC, undefined, [movi(2, 1), stx('u32', 1, 2, 8), movi(0, 0), exit()]],
    ['tc_mark_write_u16', TC, undefined, [movi(2, 1), stx('u16', 1, 2, 8), movi(0, 0), exit()]],
    ['tc_len_write', TC, undefined, [movi(2, 1), stx('u32', 1, 2, 0), movi(0, 0), exit()]],
    ['tc_len_narrow', TC, undefined, [ldx('u8', 0, 1, 1), exit()]],
    ['tc_cb_u64', TC, undefined, [movi(2, 1), stx('u64', 1, 2, 48), ldx('u64', 0, 1, 56), exit()]],
    ['tc_cb_u64_end', TC, undefined, [ldx('u64', 0, 1, 64), exit()]],
    ['tc_family', TC, undefined, [ldx('u32', 0, 1, 88), exit()]],
    ['tc_sk', TC, undefined, [ldx('u64', 2, 1, 168), movi(0, 0), exit()]],
    ['tc_sk_deref', TC, undefined, [ldx('u64', 2, 1, 168), ldx('u32', 0, 2, 0), exit()]],
    ['tc_tstamp_u32', TC, undefined, [ldx('u32', 0, 1, 152), exit()]],
    ['tc_st_imm_mark', TC, undefined, [st('u32', 1, 8, 5), movi(0, 0), exit()]],
    ['socket_data', SOCK, undefined, [ldx('u32', 0, 1, 76), exit()]],
    ['socket_len', SOCK, undefined, [ldx('u32', 0, 1, 0), exit()]],
    ['socket_cb_write', SOCK, undefined, [movi(2, 0), stx('u32', 1, 2, 48), movi(0, 0), exit()]],
    ['socket_mark_write', SOCK, undefined, [movi(2, 0), stx('u32', 1, 2, 8), movi(0, 0), exit()]],
    ['connect4_ip4_write', SA, AT.BPF_CGROUP_INET4_CONNECT, [movi(2, 1), stx('u32', 1, 2, 4), movi(0, 1), exit()]],
    ['connect4_family_write', SA, AT.BPF_CGROUP_INET4_CONNECT, [movi(2, 1), stx('u32', 1, 2, 0), movi(0, 1), exit()]],
    ['connect4_msg_src', SA, AT.BPF_CGROUP_INET4_CONNECT, [ldx('u32', 2, 1, 40), movi(0, 1), exit()]],
    ['sendmsg4_msg_src', SA, AT.BPF_CGROUP_UDP4_SENDMSG, [movi(2, 1), stx('u32', 1, 2, 40), movi(0, 1), exit()]],
    ['connect4_ip6', SA, AT.BPF_CGROUP_INET4_CONNECT, [ldx('u32', 2, 1, 8), movi(0, 1), exit()]],
    ['connect6_ip6_u64', SA, AT.BPF_CGROUP_INET6_CONNECT, [ldx('u64', 2, 1, 16), movi(0, 1), exit()]],
    ['connect4_port_u16', SA, AT.BPF_CGROUP_INET4_CONNECT, [ldx('u16', 2, 1, 24), movi(0, 1), exit()]],
    ['connect4_port_write_u16', SA, AT.BPF_CGROUP_INET4_CONNECT, [movi(2, 1), stx('u16', 1, 2, 24), movi(0, 1), exit()]],
    ['connect4_sk', SA, AT.BPF_CGROUP_INET4_CONNECT, [ldx('u64', 2, 1, 64), ldx('u32', 3, 2, 4), movi(0, 1), exit()]],
    ['connect4_type_u8', SA, AT.BPF_CGROUP_INET4_CONNECT, [ldx('u8', 2, 1, 32), movi(0, 1), exit()]],
    ['modified_ctx', XDP, undefined, [movr(2, 1), ai('add', 2, 4), ldx('u32', 0, 2, 0), exit()]],
    ['modified_ctx_back', XDP, undefined, [movr(2, 1), ai('add', 2, 4), ai('add', 2, -4), ldx('u32', 0, 2, 12), exit()]],
    ['ldsx_data', XDP, undefined, [ldxsx('u32', 0, 1, 0), movi(0, 2), exit()]],
  ];
  for (const [n, t, a, p] of ctxCases) add('ctx', n, t, p, { attach: a });
  // packet
  const pktCase = (name: string, cmp: (Insn | string)[], access: Insn[], t: number = XDP) =>
    add('packet', name, t, prog(...(t === XDP ? xdpPkt : tcPkt), ...cmp, ...access, 'out:', movi(0, 2), exit()));
  const A14 = [movr(4, 2), ai('add', 4, 14)];
  pktCase('gt_ok', [...A14, jmpReg('gt', 4, 3, 'out')], [ldx('u8', 0, 2, 13)]);
  pktCase('gt_off_by_one', [...A14, jmpReg('gt', 4, 3, 'out')], [ldx('u8', 0, 2, 14)]);
  pktCase('gt_u16_over', [...A14, jmpReg('gt', 4, 3, 'out')], [ldx('u16', 0, 2, 13)]);
  pktCase('ge_ok', [...A14, jmpReg('ge', 4, 3, 'out')], [ldx('u8', 0, 2, 14)]);
  pktCase('ge_u16', [...A14, jmpReg('ge', 4, 3, 'out')], [ldx('u16', 0, 2, 14)]);
  pktCase('lt_rev', [...A14, jmpReg('lt', 3, 4, 'out')], [ldx('u8', 0, 2, 13)]);
  pktCase('le_rev_ok', [...A14, jmpReg('le', 3, 4, 'out')], [ldx('u8', 0, 2, 14)]);
  pktCase('lt_inside', [...A14, jmpReg('lt', 4, 3, 'in'), ja('out'), 'in:'], [ldx('u8', 0, 2, 14)]);
  pktCase('le_inside', [...A14, jmpReg('le', 4, 3, 'in'), ja('out'), 'in:'], [ldx('u8', 0, 2, 13)]);
  pktCase('le_inside_over', [...A14, jmpReg('le', 4, 3, 'in'), ja('out'), 'in:'], [ldx('u8', 0, 2, 14)]);
  pktCase('no_check', [], [ldx('u8', 0, 2, 0)]);
  pktCase('jmp32_no_range', [...A14, { ...jmpReg('gt', 4, 3, 'out'), code: 0x2e }], [ldx('u8', 0, 2, 0)]);
  pktCase('eq_no_range', [...A14, jmpReg('eq', 4, 3, 'out')], [ldx('u8', 0, 2, 0)]);
  pktCase('write_ok', [...A14, jmpReg('gt', 4, 3, 'out')], [st('u8', 2, 0, 1)]);
  pktCase('write_tc_ok', [...A14, jmpReg('gt', 4, 3, 'out')], [st('u8', 2, 0, 1)], TC);
  pktCase('negative_off', [...A14, jmpReg('gt', 4, 3, 'out')], [ldx('u8', 0, 2, -1)]);
  pktCase('range_0xffff', [movr(4, 2), ai('add', 4, 0xffff), jmpReg('gt', 4, 3, 'out')], [ldx('u8', 0, 2, 0)]);
  pktCase('range_0x10000', [movr(4, 2), ai('add', 4, 0x10000), jmpReg('gt', 4, 3, 'out')], [ldx('u8', 0, 2, 0)]);
  pktCase('var_off_masked', [ldx('u32', 5, 1, 12), ai('and', 5, 0xff), ar('add', 2, 5), movr(4, 2), ai('add', 4, 4), jmpReg('gt', 4, 3, 'out')], [ldx('u32', 0, 2, 0)]);
  pktCase('var_off_unchecked', [ldx('u32', 5, 1, 12), ai('and', 5, 0xff), movr(4, 2), ai('add', 4, 4), jmpReg('gt', 4, 3, 'out'), ar('add', 2, 5)], [ldx('u32', 0, 2, 0)]);
  pktCase('var_off_big', [ldx('u32', 5, 1, 12), ar('add', 2, 5), movr(4, 2), ai('add', 4, 4), jmpReg('gt', 4, 3, 'out')], [ldx('u32', 0, 2, 0)]);
  pktCase('pkt_end_deref', [], [ldx('u8', 0, 3, 0)]);
  pktCase('after_adjust_head', [...A14, jmpReg('gt', 4, 3, 'out'), movr(6, 2), movi(2, 0), call(44)], [ldx('u8', 0, 6, 0)]);
  pktCase('meta_ok', [ldx('u32', 5, 1, 8), movr(4, 5), ai('add', 4, 4), jmpReg('gt', 4, 2, 'out')], [ldx('u32', 0, 5, 0)]);
  add('packet', 'socket_no_data', SOCK, [ldx('u32', 2, 1, 76), movi(0, 0), exit()]);
  // map values and null checks
  const lookup = (extra: (Insn | string)[]) =>
    prog(st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), ...extra, 'out:', movi(0, 2), exit());
  add('map_value', 'ok', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 1, 0, 8)]), { maps: [ARRAY_16] });
  add('map_value', 'past_end', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 1, 0, 9)]), { maps: [ARRAY_16] });
  add('map_value', 'negative', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u8', 1, 0, -1)]), { maps: [ARRAY_16] });
  add('map_value', 'var_masked', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u32', 3, 0, 0), ai('and', 3, 7), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_masked_over', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u32', 3, 0, 0), ai('and', 3, 15), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_bounded', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u32', 3, 0, 0), jmpImm('gt', 3, 12, 'out'), ar('add', 0, 3), ldx('u32', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_bounded_over', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u32', 3, 0, 0), jmpImm('gt', 3, 13, 'out'), ar('add', 0, 3), ldx('u32', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_unbounded', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), ar('add', 0, 3), ldx('u32', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_signed', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), jmpImm('sgt', 3, 8, 'out'), ar('add', 0, 3), ldx('u32', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'var_jmp32', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u32', 3, 0, 0), jmp32Imm('gt', 3, 8, 'out'), ar('add', 0, 3), ldx('u32', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('map_value', 'write_ok', XDP, lookup([jmpImm('eq', 0, 0, 'out'), st('u64', 0, 0, 1)]), { maps: [ARRAY_16] });
  add('map_value', 'direct_value', XDP, prog({ ...ldImm64(1, 0n), src: 2, imm: 0, imm64: 4n << 32n }, ldx('u32', 0, 1, 0), exit()), { maps: [{ ...ARRAY_16, maxEntries: 1 }] });
  add('map_value', 'direct_value_over', XDP, prog({ ...ldImm64(1, 0n), src: 2, imm: 0, imm64: 4n << 32n }, ldx('u64', 0, 1, 8), exit()), { maps: [{ ...ARRAY_16, maxEntries: 1 }] });
  add('map_value', 'key_too_small', XDP, prog(st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -2), ldMapFd(1, 0), call(1), movi(0, 2), exit()), { maps: [ARRAY_16] });
  add('map_value', 'bad_map_idx', XDP, prog(ldMapFd(1, 3), movi(0, 2), exit()), { maps: [ARRAY_16] });
  const hlookup = (extra: (Insn | string)[]) =>
    prog(st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), ...extra, 'out:', movi(0, 2), exit());
  add('null_check', 'hash_missing', XDP, hlookup([ldx('u64', 1, 0, 0)]), { maps: [HASH_U32_U64] });
  add('null_check', 'hash_arith_before', XDP, hlookup([ai('add', 0, 8), jmpImm('eq', 0, 0, 'out')]), { maps: [HASH_U32_U64] });
  add('null_check', 'hash_jmp32', XDP, hlookup([jmp32Imm('eq', 0, 0, 'out'), ldx('u64', 1, 0, 0)]), { maps: [HASH_U32_U64] });
  add('null_check', 'hash_wrong_branch', XDP, hlookup([jmpImm('ne', 0, 0, 'out'), ldx('u64', 1, 0, 0)]), { maps: [HASH_U32_U64] });
  add('null_check', 'hash_ok', XDP, hlookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 1, 0, 0)]), { maps: [HASH_U32_U64] });
  add('null_check', 'array_key_out_of_range', XDP, prog(st('u32', 10, -4, 4), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), ldx('u64', 1, 0, 0), movi(0, 2), exit()), { maps: [ARRAY_16] });
  add('null_check', 'array_var_key', XDP, prog(ldx('u32', 3, 1, 12), stx('u32', 10, 3, -4), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), ldx('u64', 1, 0, 0), movi(0, 2), exit()), { maps: [ARRAY_16] });
  add('null_check', 'array_const_key_u64', XDP, prog(movi(3, 1), stx('u32', 10, 3, -8), movr(2, 10), ai('add', 2, -8), ldMapFd(1, 0), call(1), ldx('u64', 1, 0, 0), movi(0, 2), exit()), { maps: [ARRAY_16] });
  // A constant in-range key makes an array lookup non-null, except on BPF_F_INNER_MAP maps
  // (directly, or as the inner map of a map-in-map): then the null check stays required.
  const constKey0 = (tail: (Insn | string)[]) => prog(st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), ...tail);
  const INNER_FLAG = { ...ARRAY_16, flags: 1 << 12 };
  add('null_check', 'array_const_key_ok', XDP, constKey0([ldx('u64', 1, 0, 0), movi(0, 2), exit()]), { maps: [ARRAY_16] });
  add('null_check', 'array_const_key_inner_flag', XDP, constKey0([ldx('u64', 1, 0, 0), movi(0, 2), exit()]), { maps: [INNER_FLAG] });
  const outerOf = (inner: MapSpecLite): MapSpecLite => ({ name: 'outer', type: MT.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, inner });
  const viaOuter = [jmpImm('ne', 0, 0, 'found'), movi(0, 2), exit(), 'found:', st('u32', 10, -8, 0), movr(1, 0), movr(2, 10), ai('add', 2, -8), call(1), ldx('u64', 1, 0, 0), movi(0, 2), exit()];
  add('null_check', 'inner_const_key_ok', XDP, constKey0(viaOuter), { maps: [outerOf(ARRAY_16)] });
  add('null_check', 'inner_const_key_inner_flag', XDP, constKey0(viaOuter), { maps: [outerOf(INNER_FLAG)] });
  add('null_check', 'missing', XDP, lookup([ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('null_check', 'arith_before', XDP, lookup([ai('add', 0, 8), jmpImm('eq', 0, 0, 'out')]), { maps: [ARRAY_16] });
  add('null_check', 'ne_ok', XDP, lookup([jmpImm('ne', 0, 0, 'hit'), ja('out'), 'hit:', ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('null_check', 'copy_checked', XDP, lookup([movr(6, 0), jmpImm('eq', 0, 0, 'out'), ldx('u64', 1, 6, 0)]), { maps: [ARRAY_16] });
  add('null_check', 'spilled', XDP, lookup([stx('u64', 10, 0, -16), jmpImm('eq', 0, 0, 'out'), ldx('u64', 6, 10, -16), ldx('u64', 1, 6, 0)]), { maps: [ARRAY_16] });
  add('null_check', 'jmp32_check', XDP, lookup([jmp32Imm('eq', 0, 0, 'out'), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('null_check', 'hash_update', XDP, prog(
    st('u32', 10, -4, 1), st('u64', 10, -16, 5), movr(2, 10), ai('add', 2, -4), movr(3, 10), ai('add', 3, -16), movi(4, 0), ldMapFd(1, 0), call(2), movi(0, 2), exit(),
  ), { maps: [HASH_U32_U64] });
  add('null_check', 'value_uninit_stack', XDP, prog(
    st('u32', 10, -4, 1), movr(2, 10), ai('add', 2, -4), movr(3, 10), ai('add', 3, -16), movi(4, 0), ldMapFd(1, 0), call(2), movi(0, 2), exit(),
  ), { maps: [HASH_U32_U64] });
  // stack
  add('stack', 'oob_write', XDP, [movi(1, 0), stx('u64', 10, 1, -520), movi(0, 0), exit()]);
  add('stack', 'positive', XDP, [movi(1, 0), stx('u64', 10, 1, 0), movi(0, 0), exit()]);
  add('stack', 'last_ok', XDP, [movi(1, 0), stx('u64', 10, 1, -512), ldx('u64', 0, 10, -512), exit()]);
  add('stack', 'misaligned', XDP, [movi(1, 0), stx('u32', 10, 1, -6), movi(0, 0), exit()]);
  add('stack', 'uninit_read_ok', XDP, [ldx('u64', 0, 10, -8), exit()]);
  add('stack', 'ptr_spill_partial', XDP, [stx('u32', 10, 1, -8), movi(0, 0), exit()]);
  add('stack', 'ptr_fill_partial', XDP, [stx('u64', 10, 1, -8), ldx('u32', 0, 10, -8), exit()]);
  add('stack', 'ptr_fill_ok', XDP, [stx('u64', 10, 1, -8), ldx('u64', 2, 10, -8), ldx('u32', 0, 2, 12), exit()]);
  add('stack', 'ptr_overwritten', XDP, [stx('u64', 10, 1, -8), st('u32', 10, -4, 0), ldx('u64', 2, 10, -8), ldx('u32', 0, 2, 12), exit()]);
  add('stack', 'scalar_narrow_fill', XDP, [movi(1, 7), stx('u64', 10, 1, -8), ldx('u32', 0, 10, -8), exit()]);
  add('stack', 'var_off_ok', XDP, [ldx('u32', 2, 1, 12), ai('and', 2, 8), movr(3, 10), ai('add', 3, -16), ar('add', 3, 2), ldx('u64', 0, 3, 0), exit()]);
  add('stack', 'var_off_oob', XDP, [ldx('u32', 2, 1, 12), ai('and', 2, 16), movr(3, 10), ai('add', 3, -16), ar('add', 3, 2), ldx('u64', 0, 3, 0), exit()]);
  add('stack', 'sub_fp', XDP, [movr(1, 10), ai('sub', 1, 8), movi(0, 0), exit()]);
  add('stack', 'zero_fill_const', XDP, [st('u64', 10, -8, 0), ldx('u64', 0, 10, -8), ai('add', 0, 1), movr(3, 10), ar('add', 3, 0), movi(0, 0), exit()]);
  // pointer arithmetic
  const pa: [string, Insn[]][] = [
    ['mul', [movr(2, 1), ai('mul', 2, 2), movi(0, 0), exit()]],
    ['and', [movr(2, 1), ai('and', 2, 2), movi(0, 0), exit()]],
    ['alu32', [movr(2, 1), awi('add', 2, 2), movi(0, 0), exit()]],
    ['ptr_plus_ptr', [movr(2, 1), ar('add', 2, 1), movi(0, 0), exit()]],
    ['ptr_minus_ptr', [movr(2, 10), ar('sub', 2, 1), movi(0, 0), exit()]],
    ['scalar_minus_ptr', [movi(2, 0), ar('sub', 2, 1), movi(0, 0), exit()]],
    ['scalar_plus_ptr', [movi(2, 4), ar('add', 2, 10), st('u32', 2, -8, 0), movi(0, 0), exit()]],
    ['pkt_end', [ldx('u32', 2, 1, 4), ai('add', 2, 1), movi(0, 0), exit()]],
    ['unbounded', [ldx('u32', 2, 1, 0), ldx('u64', 3, 10, -8), ar('add', 2, 3), movi(0, 0), exit()]],
    ['huge_const', [movr(2, 10), { ...ai('add', 2, 0), imm: 1 << 29 }, movi(0, 0), exit()]],
    ['mov32_ptr', [awr('mov', 2, 1), movr(0, 2), exit()]],
    ['neg_ptr', [movr(2, 1), neg64(2), movi(0, 0), exit()]],
    ['ptr_compare_ok', [movr(2, 10), jmpReg('gt', 2, 1, 1), movi(0, 0), exit()]],
    ['ptr_xor_scalar', [movi(2, 1), ar('xor', 2, 1), movi(0, 0), exit()]],
  ];
  for (const [n, p] of pa) add('pointer', n, XDP, p);
  // helpers
  add('helper', 'unavailable', XDP, [movi(1, 0), movi(2, 0), movi(3, 0), movi(4, 0), movi(5, 0), call(9), movi(0, 0), exit()]);
  add('helper', 'bad_id', XDP, [call(999), movi(0, 0), exit()]);
  add('helper', 'gpl_only', XDP, [movr(1, 10), ai('add', 1, -8), st('u64', 10, -8, 0), movi(2, 8), call(6), movi(0, 0), exit()], { gpl: false });
  add('helper', 'printk_ok', XDP, [movr(1, 10), ai('add', 1, -8), st('u64', 10, -8, 0), movi(2, 8), call(6), movi(0, 0), exit()]);
  add('helper', 'map_arg_ctx', XDP, [movr(2, 10), ai('add', 2, -8), call(1), movi(0, 0), exit()]);
  add('helper', 'key_scalar', XDP, prog(ldMapFd(1, 0), movi(2, 0), call(1), movi(0, 0), exit()), { maps: [ARRAY_16] });
  add('helper', 'size_zero', TC, [movr(3, 10), ai('add', 3, -8), movi(2, 0), movi(4, 0), call(26), movi(0, 0), exit()]);
  add('helper', 'size_neg', TC, [movr(3, 10), ai('add', 3, -8), movi(2, 0), movi(4, -1), call(26), movi(0, 0), exit()]);
  add('helper', 'size_too_big', TC, [movr(3, 10), ai('add', 3, -8), movi(2, 0), movi(4, 16), call(26), movi(0, 0), exit()]);
  add('helper', 'size_unbounded', TC, [ldx('u32', 4, 1, 0), movr(3, 10), ai('add', 3, -8), movi(2, 0), call(26), movi(0, 0), exit()]);
  add('helper', 'size_masked_ok', TC, [ldx('u32', 4, 1, 0), ai('and', 4, 7), ai('add', 4, 1), movr(3, 10), ai('add', 3, -8), movi(2, 0), call(26), movi(0, 0), exit()]);
  add('helper', 'modified_ctx_arg', TC, [ai('add', 1, 4), call(34), movi(0, 0), exit()]);
  add('helper', 'csum_diff_null', TC, [movi(1, 0), movi(2, 0), movr(3, 10), ai('add', 3, -8), movi(4, 8), movi(5, 0), call(28), movi(0, 0), exit()]);
  add('helper', 'tail_call_wrong_map', XDP, prog(ldMapFd(2, 0), movi(3, 0), call(12), movi(0, 2), exit()), { maps: [ARRAY_16] });
  add('helper', 'lookup_prog_array', XDP, prog(st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, 0), call(1), movi(0, 2), exit()), { maps: [PROG_ARRAY] });
  add('helper', 'pkt_to_printk', XDP, prog(...xdpPkt, movr(4, 2), ai('add', 4, 8), jmpReg('gt', 4, 3, 'out'), movr(1, 2), movi(2, 8), call(6), 'out:', movi(0, 2), exit()));
  add('helper', 'pkt_as_key', XDP, prog(...xdpPkt, movr(4, 2), ai('add', 4, 8), jmpReg('gt', 4, 3, 'out'), ldMapFd(1, 0), call(1), 'out:', movi(0, 2), exit()), { maps: [ARRAY_16] });
  add('helper', 'retval_connect', SA, [movi(1, 1), call(187), movi(0, 1), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('helper', 'retval_recvmsg', SA, [movi(1, 1), call(187), movi(0, 1), exit()], { attach: AT.BPF_CGROUP_UDP4_RECVMSG });
  add('helper', 'cookie_sock_addr', SA, [call(46), movi(0, 1), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('helper', 'ringbuf_var_size', XDP, prog(ldx('u32', 2, 1, 12), ldMapFd(1, 0), movi(3, 0), call(131), movi(0, 2), exit()), { maps: [RINGBUF] });
  // return codes
  const rets: [string, number, number, number][] = [
    ['connect4_2', SA, AT.BPF_CGROUP_INET4_CONNECT, 2],
    ['connect4_0', SA, AT.BPF_CGROUP_INET4_CONNECT, 0],
    ['sendmsg6_1', SA, AT.BPF_CGROUP_UDP6_SENDMSG, 1],
    ['recvmsg4_0', SA, AT.BPF_CGROUP_UDP4_RECVMSG, 0],
    ['recvmsg4_1', SA, AT.BPF_CGROUP_UDP4_RECVMSG, 1],
    ['getpeername6_0', SA, AT.BPF_CGROUP_INET6_GETPEERNAME, 0],
    ['bind4_3', SA, AT.BPF_CGROUP_INET4_BIND, 3],
    ['bind4_4', SA, AT.BPF_CGROUP_INET4_BIND, 4],
    ['unix_connect_1', SA, AT.BPF_CGROUP_UNIX_CONNECT, 1],
    ['unix_recvmsg_0', SA, AT.BPF_CGROUP_UNIX_RECVMSG, 0],
  ];
  for (const [n, t, a, v] of rets) add('return', n, t, [movi(0, v), exit()], { attach: a });
  add('return', 'xdp_7', XDP, [movi(0, 7), exit()]);
  add('return', 'tc_neg', TC, [movi(0, -1), exit()]);
  add('return', 'connect4_unknown', SA, [ldx('u32', 0, 1, 0), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('return', 'connect4_masked', SA, [ldx('u32', 0, 1, 0), ai('and', 0, 1), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('return', 'connect4_ptr', SA, [movr(0, 1), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('return', 'connect4_branch', SA, prog(ldx('u32', 2, 1, 24), movi(0, 1), jmpImm('gt', 2, 1024, 'o'), movi(0, 0), 'o:', exit()), { attach: AT.BPF_CGROUP_INET4_CONNECT });
  add('return', 'connect4_rsh', SA, [ldx('u32', 0, 1, 4), ai('rsh', 0, 31), exit()], { attach: AT.BPF_CGROUP_INET4_CONNECT });
  // references
  const skl = (after: Insn[]) => prog(
    movr(6, 1), st('u64', 10, -16, 0), st('u32', 10, -8, 0), st('u32', 10, -4, 0),
    movr(1, 6), movr(2, 10), ai('add', 2, -16), movi(3, 12), movi(4, -1), movi(5, 0), call(84), ...after, 'out:', movi(0, 0), exit());
  add('reference', 'release_ok', TC, skl([jmpImm('eq', 0, 0, 'out'), movr(1, 0), call(86)]));
  add('reference', 'leak', TC, skl([]));
  add('reference', 'leak_one_path', TC, skl([jmpImm('eq', 0, 0, 'out'), ldx('u32', 2, 0, 4), jmpImm('eq', 2, 2, 'out'), movr(1, 0), call(86)]));
  add('reference', 'release_unchecked', TC, skl([movr(1, 0), call(86)]));
  add('reference', 'release_twice', TC, skl([jmpImm('eq', 0, 0, 'out'), movr(7, 0), movr(1, 0), call(86), movr(1, 7), call(86)]));
  add('reference', 'release_ctx_sk', TC, [ldx('u64', 1, 1, 168), jmpImm('eq', 1, 0, 1), call(86), movi(0, 0), exit()]);
  add('reference', 'use_after_release', TC, skl([jmpImm('eq', 0, 0, 'out'), movr(7, 0), movr(1, 0), call(86), ldx('u32', 2, 7, 4)]));
  add('reference', 'sock_write', TC, skl([jmpImm('eq', 0, 0, 'out'), st('u32', 0, 4, 1), movr(1, 0), call(86)]));
  add('reference', 'skc_lookup', TC, prog(movr(6, 1), st('u64', 10, -16, 0), st('u32', 10, -8, 0), st('u32', 10, -4, 0),
    movr(1, 6), movr(2, 10), ai('add', 2, -16), movi(3, 12), movi(4, -1), movi(5, 0), call(99), jmpImm('eq', 0, 0, 'out'), movr(1, 0), call(86), 'out:', movi(0, 0), exit()));
  add('reference', 'ringbuf_leak', XDP, prog(ldMapFd(1, 0), movi(2, 16), movi(3, 0), call(131), movi(0, 2), exit()), { maps: [RINGBUF] });
  add('reference', 'ringbuf_oob', XDP, prog(ldMapFd(1, 0), movi(2, 16), movi(3, 0), call(131), jmpImm('eq', 0, 0, 'out'), st('u64', 0, 16, 1), movr(1, 0), movi(2, 0), call(133), 'out:', movi(0, 2), exit()), { maps: [RINGBUF] });
  add('reference', 'tail_call_leak', TC, prog(movr(6, 1), st('u64', 10, -16, 0), st('u32', 10, -8, 0), st('u32', 10, -4, 0),
    movr(1, 6), movr(2, 10), ai('add', 2, -16), movi(3, 12), movi(4, -1), movi(5, 0), call(84), movr(7, 0), movr(1, 6), ldMapFd(2, 0), movi(3, 0), call(12),
    jmpImm('eq', 7, 0, 'out'), movr(1, 7), call(86), 'out:', movi(0, 0), exit()), { maps: [PROG_ARRAY] });
  // loops and budget
  add('loop', 'infinite', XDP, prog(movi(0, 0), 'l:', ja('l'), exit()));
  add('loop', 'infinite_cond', XDP, prog(movi(0, 0), 'l:', jmpImm('eq', 0, 0, 'l'), exit()));
  add('loop', 'counted_100', XDP, prog(movi(0, 0), 'l:', ai('add', 0, 1), jmpImm('lt', 0, 100, 'l'), exit()));
  add('loop', 'too_large', XDP, prog(movi(0, 0), 'l:', ai('add', 0, 1), jmpImm('ne', 0, 0x7fffffff, 'l'), exit()));
  add('loop', 'nested', XDP, prog(movi(0, 0), movi(1, 0), 'o:', movi(2, 0), 'i:', ai('add', 0, 1), ai('add', 2, 1), jmpImm('lt', 2, 10, 'i'), ai('add', 1, 1), jmpImm('lt', 1, 10, 'o'), exit()));
  add('loop', 'unbounded_var', XDP, prog(ldx('u32', 1, 1, 12), movi(0, 0), 'l:', ai('add', 0, 1), jmpReg('lt', 0, 1, 'l'), exit()));
  // 32-bit refinement (JMP32) and ALU32
  add('alu', 'jmp32_bound_ok', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), jmp32Imm('gt', 3, 8, 'out'), awi('mov', 3, 0), movr(4, 0), ar('add', 4, 3), movr(0, 4)]), { maps: [ARRAY_16] });
  add('alu', 'alu32_zext_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), awi('and', 3, 7), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'alu32_zext_over', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), awi('and', 3, 15), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'rsh_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), ai('rsh', 3, 61), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'mod_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), ai('mod', 3, 9), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'mul_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u8', 3, 0, 0), ai('and', 3, 1), ai('mul', 3, 8), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'jset_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u8', 3, 0, 0), ai('and', 3, 15), jmpImm('set', 3, 8, 'out'), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'linked_regs', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), movr(4, 3), jmpImm('gt', 3, 8, 'out'), ar('add', 0, 4), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'signed_lt', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u64', 3, 0, 0), jmpImm('slt', 3, 0, 'out'), jmpImm('sgt', 3, 8, 'out'), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'movsx_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u8', 3, 0, 0), { ...movr(3, 3), off: 8 }, jmpImm('sgt', 3, 8, 'out'), jmpImm('slt', 3, 0, 'out'), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  add('alu', 'bswap_bound', XDP, lookup([jmpImm('eq', 0, 0, 'out'), ldx('u16', 3, 0, 0), toBe(3, 16), ai('and', 3, 7), ar('add', 0, 3), ldx('u64', 1, 0, 0)]), { maps: [ARRAY_16] });
  return out;
}

/** Mechanical mutants of the reference programs. */
export function mutants(refs: CorpusEntry[]): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const r of refs) {
    const n = r.insns.length;
    for (let i = 0; i < n; i++) {
      const x = r.insns[i]!;
      const cls = x.code & 7;
      const op = x.code & 0xf0;
      const mut = (name: string, rule: string, y: Insn | Insn[]) => {
        const insns = r.insns.slice();
        insns.splice(i, 1, ...(Array.isArray(y) ? y : [y]));
        out.push({ ...r, name: `${r.name}/${name}@${i}`, rule, insns });
      };
      if ((cls === 5 || cls === 6) && op >= 0x10 && op <= 0xd0 && op !== 0x80 && op !== 0x90) {
        mut('drop_check', 'mutant_check', ja(0));
        mut('always_jump', 'mutant_check', ja(x.off));
      }
      if (cls === 1 || cls === 2 || cls === 3) {
        mut('shift_off+1', 'mutant_offset', { ...x, off: x.off + 1 });
        mut('shift_off+4', 'mutant_offset', { ...x, off: x.off + 4 });
        mut('shift_off-8', 'mutant_offset', { ...x, off: x.off - 8 });
      }
      if (x.code === 0xb7 && x.dst === 0 && r.insns[i + 1]?.code === 0x95) {
        mut('return_2', 'mutant_return', { ...x, imm: 2 });
        mut('return_neg', 'mutant_return', { ...x, imm: -1 });
      }
      if (x.code === 0x85 && x.src === 0 && (x.imm === 86 || x.imm === 132 || x.imm === 133)) {
        mut('leak', 'mutant_reference', movi(0, 0));
      }
      if (cls === 3 && x.dst === 6 && r.progType === SA) {
        mut('write_ro_family', 'mutant_ctx', { ...x, off: 0 });
        mut('write_msg_src', 'mutant_ctx', { ...x, off: 40 });
      }
      if (x.code === 0x85 && x.src === 0) {
        mut('clobber_use', 'mutant_uninit', [x, movr(0, 1)]);
      }
    }
  }
  return out;
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded random programs: plausible instruction mixes (mostly valid) and raw random instructions. */
export function randomPrograms(seed: number, count: number): CorpusEntry[] {
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: CorpusEntry[] = [];
  const types: [number, number | undefined, number][] = [[XDP, undefined, 24], [TC, undefined, 192], [SA, AT.BPF_CGROUP_INET4_CONNECT, 72]];
  for (let k = 0; k < count; k++) {
    const [pt, at, ctxSize] = pick(types);
    const len = int(3, 24);
    const insns: Insn[] = [];
    const raw = k % 5 === 4;
    if (raw) {
      for (let i = 0; i < len; i++) {
        insns.push(insn(pick([0x07, 0x0f, 0xb7, 0xbf, 0x61, 0x63, 0x7b, 0x79, 0x15, 0x55, 0x25, 0x85, 0x95, 0x05, 0x04, 0x24, 0x16, int(0, 255)]),
          int(0, 11), int(0, 10), int(-4, 4) * (rand() < 0.5 ? 1 : 8), rand() < 0.7 ? int(-2, 40) : int(-1000, 1000)));
      }
      insns.push(exit());
    } else {
      insns.push(movi(0, int(0, 2)));
      const init = new Set([0, 1, 10]);
      const live = () => [...init];
      for (let i = 0; i < len; i++) {
        const r = rand();
        const dst = int(0, 9);
        if (r < 0.2) {
          insns.push(movi(dst, int(-8, 64)));
          init.add(dst);
        } else if (r < 0.35) {
          insns.push(ai(pick(['add', 'sub', 'and', 'or', 'lsh', 'rsh', 'mul', 'xor', 'mod', 'div', 'arsh'] as const), pick(live()), pick([0, 1, 3, 7, 8, 31, 63, 64, -1])));
        } else if (r < 0.45) {
          const s = pick(live());
          insns.push(ar(pick(['add', 'sub', 'and', 'mov', 'or'] as const), dst, s));
          init.add(dst);
        } else if (r < 0.55) {
          insns.push(ldx(pick(['u8', 'u16', 'u32', 'u64'] as const), dst, 1, int(0, ctxSize / 4) * 4 + pick([0, 0, 0, 1, 2])));
          init.add(dst);
        } else if (r < 0.65) {
          insns.push(stx(pick(['u8', 'u16', 'u32', 'u64'] as const), 10, pick(live()), -8 * int(1, 8) + pick([0, 0, 4, 2])));
        } else if (r < 0.72) {
          insns.push(ldx(pick(['u8', 'u32', 'u64'] as const), dst, 10, -8 * int(1, 8)));
          init.add(dst);
        } else if (r < 0.85) {
          const remaining = len - i;
          insns.push(jmpImm(pick(['eq', 'ne', 'gt', 'lt', 'sgt', 'set'] as const), pick(live()), int(0, 16), int(0, Math.max(0, remaining - 1))));
        } else if (r < 0.9) {
          insns.push(call(pick([7, 5, 8, 14])));
          for (const x of [1, 2, 3, 4, 5]) init.delete(x);
          init.add(0);
        } else {
          insns.push(stx('u32', 1, pick(live()), int(0, ctxSize / 4) * 4));
        }
      }
      insns.push(exit());
    }
    out.push({ name: `random/${seed}/${k}${raw ? '/raw' : ''}`, rule: raw ? 'random_raw' : 'random', progType: pt, attach: at, insns });
  }
  return out;
}

/** The whole corpus. */
export function buildCorpus(seed = 1, randomCount = 300, extraRefs: CorpusEntry[] = []): CorpusEntry[] {
  const refs = [...referencePrograms(), ...extraRefs];
  return [...refs, ...rulePrograms(), ...mutants(refs), ...randomPrograms(seed, randomCount), ...structuredRandomPrograms(seed, randomCount)];
}

/**
 * Seeded random programs built from well-formed fragments (context loads at
 * allowed offsets, packet accesses after a bounds check of random length,
 * map lookups with or without a null check, stack spills and fills, scalar
 * arithmetic, forward branches), each fragment sometimes off by a little:
 * a mix the kernel accepts and rejects for many different reasons.
 */
export function structuredRandomPrograms(seed: number, count: number): CorpusEntry[] {
  const rand = rng(seed ^ 0x5eed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const chance = (p: number) => rand() < p;
  const out: CorpusEntry[] = [];
  const configs: [number, number | undefined, [number, number][]][] = [
    [XDP, undefined, [[12, 4], [16, 4]]],
    [TC, undefined, [[0, 4], [8, 4], [16, 4], [36, 4], [48, 4], [52, 8], [40, 2], [1, 1]]],
    [SA, AT.BPF_CGROUP_INET4_CONNECT, [[4, 4], [24, 4], [32, 4], [36, 4], [24, 2]]],
    [SA, AT.BPF_CGROUP_UDP4_RECVMSG, [[4, 4], [24, 4], [36, 4]]],
  ];
  const sz = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' } as const;
  for (let k = 0; k < count; k++) {
    const [pt, at, fields] = pick(configs);
    const items: (Insn | string)[] = [movr(6, 1)];
    const maps: MapSpecLite[] = [];
    let label = 0;
    const scalars = new Set<number>();
    const frags = int(2, 7);
    for (let f = 0; f < frags; f++) {
      const r = pick([7, 8, 9]);
      const kind = int(0, 8);
      if (kind === 0) {
        // ctx load, occasionally at a bad offset or size
        const [off, size] = pick(fields);
        const o = chance(0.1) ? off + pick([1, 2, 4]) : off;
        const s = chance(0.08) ? pick([1, 2, 4, 8]) : size;
        items.push(ldx(sz[s as 1 | 2 | 4 | 8], r, 6, o - (o % s)));
        scalars.add(r);
      } else if (kind === 1 && pt !== SA) {
        // packet access after a bounds check
        const n = int(1, 64);
        const l = `p${label++}`;
        items.push(ldx('u32', 2, 6, pt === XDP ? 0 : 76), ldx('u32', 3, 6, pt === XDP ? 4 : 80), movr(4, 2), ai('add', 4, n));
        const op = pick(['gt', 'ge'] as const);
        items.push(jmpReg(op, 4, 3, l));
        const size = pick([1, 2, 4]);
        const limit = op === 'gt' ? n : n + 1;
        const off = chance(0.75) ? int(0, Math.max(0, limit - size)) : limit - size + int(1, 2);
        items.push(ldx(sz[size as 1 | 2 | 4], r, 2, off), l + ':');
        scalars.delete(r);
      } else if (kind === 2) {
        // map lookup
        const isArr = chance(0.5);
        const m: MapSpecLite = isArr ? { type: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8 * int(1, 4), maxEntries: 8 } : { type: MT.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8 * int(1, 4), maxEntries: 8 };
        maps.push(m);
        const l = `m${label++}`;
        items.push(chance(0.5) ? st('u32', 10, -4, int(0, 9)) : stx('u32', 10, scalars.size ? pick([...scalars]) : 6, -4));
        items.push(movr(2, 10), ai('add', 2, -4), ldMapFd(1, maps.length - 1), call(1));
        if (chance(0.85)) items.push(jmpImm('eq', 0, 0, l));
        const off = chance(0.8) ? 8 * int(0, m.valueSize / 8 - 1) : m.valueSize - int(0, 4);
        items.push(chance(0.5) ? ldx('u64', r, 0, off) : st('u64', 0, off, 1), l + ':');
        for (const x of [1, 2, 3, 4, 5]) scalars.delete(x);
        scalars.delete(r);
      } else if (kind === 3 && scalars.size) {
        // scalar arithmetic
        const s = pick([...scalars]);
        items.push(pick([ai('and', s, int(0, 255)), ai('rsh', s, int(0, 40)), ai('add', s, int(-8, 8)), awi('and', s, 15), ai('mul', s, 3), ai('lsh', s, int(0, 3)), awr('mov', r, s)]));
        scalars.add(r);
      } else if (kind === 4) {
        // spill and fill
        const o = -8 * int(1, 6);
        const s = scalars.size ? pick([...scalars]) : 6;
        items.push(stx(chance(0.8) ? 'u64' : pick(['u32', 'u16'] as const), 10, s, o), ldx(chance(0.8) ? 'u64' : pick(['u32', 'u8'] as const), r, 10, o));
        if (s === 6) items.push(ldx('u32', r, r, 0));
        scalars.add(r);
      } else if (kind === 5 && scalars.size) {
        // branch on a scalar
        const s = pick([...scalars]);
        const l = `b${label++}`;
        items.push(jmpImm(pick(['gt', 'lt', 'eq', 'ne', 'sgt', 'set'] as const), s, int(0, 300), l), movi(r, int(0, 3)), l + ':');
        scalars.add(r);
      } else if (kind === 6) {
        items.push(call(pick([7, 5, 8])), movr(r, 0));
        scalars.add(r);
      } else if (kind === 7 && scalars.size) {
        // variable index into a map value
        const m: MapSpecLite = { type: MT.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 };
        maps.push(m);
        const l = `v${label++}`;
        const s = pick([...scalars]);
        items.push(stx('u64', 10, s, -16), st('u32', 10, -4, 0), movr(2, 10), ai('add', 2, -4), ldMapFd(1, maps.length - 1), call(1), jmpImm('eq', 0, 0, l));
        items.push(ldx('u64', 3, 10, -16), ai('and', 3, pick([3, 7, 8, 15])), ar('add', 0, 3), ldx(pick(['u8', 'u32', 'u64'] as const), r, 0, 0), l + ':');
        scalars.add(r);
      } else {
        items.push(movi(r, int(-4, 100)));
        scalars.add(r);
      }
    }
    // return value
    if (pt === SA) {
      const s = scalars.size && chance(0.4) ? pick([...scalars]) : -1;
      if (s >= 0) items.push(movr(0, s), ai('and', 0, chance(0.8) ? 1 : 3));
      else items.push(movi(0, at === AT.BPF_CGROUP_UDP4_RECVMSG ? (chance(0.85) ? 1 : 0) : chance(0.9) ? 1 : 2));
    } else items.push(movi(0, int(0, 3)));
    items.push(exit());
    out.push({ name: `structured/${seed}/${k}`, rule: 'random_structured', progType: pt, attach: at, maps, insns: prog(...items) });
  }
  return out;
}
