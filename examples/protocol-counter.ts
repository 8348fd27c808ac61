/**
 * The demo's datapath, hand-assembled with lib/isa: count packets per IP
 * protocol (TCP, UDP, ICMP, other) into an array map of four u64 counters.
 * The same code runs at XDP or at tc/tcx, only the context offsets differ.
 * (The DSL will replace this hand assembly.)
 */
import { ProgramBuilder, atomic, call, exit, ja, jmpImm, jmpReg, ldMapFd, ldx, mov64Imm, mov64Reg, alu64Imm, st, stx, type Insn } from '../lib/isa/index.js';
import { Helper } from '../lib/uapi/helpers.js';
import { XdpAction, TcxAction } from '../lib/uapi/prog-types.js';
import { XdpMd, SkBuff } from '../lib/uapi/context.js';
import { offsetOf } from '../lib/uapi/layout.js';

/** Counter slots, in map index order. */
export const PROTOCOLS = ['tcp', 'udp', 'icmp', 'other'] as const;

/** A protocol name of {@link PROTOCOLS}. */
export type Protocol = (typeof PROTOCOLS)[number];

const ETH_P_IP_LE16 = 0x0008; // htons(0x0800) read as a little-endian u16
const IPPROTO = { tcp: 6, udp: 17, icmp: 1 } as const;

/**
 * Instructions of the counter for `hook` (`'xdp'` or `'tc'`), updating the
 * array map with descriptor `mapFd` (key u32 0..3, value u64). Every packet
 * passes. With `perCpu` (a per-CPU array: each CPU owns its slot) the
 * increment is a plain add; otherwise an atomic one.
 */
export function protocolCounter(mapFd: number, hook: 'xdp' | 'tc', options: { perCpu?: boolean } = {}): Insn[] {
  const ctx = hook === 'xdp' ? XdpMd : SkBuff;
  const pass = hook === 'xdp' ? XdpAction.XDP_PASS : TcxAction.TCX_PASS;
  const b = new ProgramBuilder();
  b.emit(
    ldx('u32', 2, 1, offsetOf(ctx, 'data')),
    ldx('u32', 3, 1, offsetOf(ctx, 'data_end')),
    st('u32', 10, -4, PROTOCOLS.indexOf('other')),
    // Need Ethernet (14) + the IPv4 header's first 20 bytes.
    mov64Reg(4, 2),
    alu64Imm('add', 4, 34),
    jmpReg('gt', 4, 3, 'count'),
    ldx('u16', 5, 2, 12), // h_proto
    jmpImm('ne', 5, ETH_P_IP_LE16, 'count'),
    ldx('u8', 5, 2, 14 + 9), // iph->protocol
    jmpImm('eq', 5, IPPROTO.tcp, 'tcp'),
    jmpImm('eq', 5, IPPROTO.udp, 'udp'),
    jmpImm('eq', 5, IPPROTO.icmp, 'icmp'),
    ja('count'),
  );
  b.label('tcp').emit(st('u32', 10, -4, PROTOCOLS.indexOf('tcp')), ja('count'));
  b.label('udp').emit(st('u32', 10, -4, PROTOCOLS.indexOf('udp')), ja('count'));
  b.label('icmp').emit(st('u32', 10, -4, PROTOCOLS.indexOf('icmp')));
  b.label('count').emit(
    mov64Reg(2, 10),
    alu64Imm('add', 2, -4),
    ldMapFd(1, mapFd),
    call(Helper.map_lookup_elem),
    jmpImm('eq', 0, 0, 'out'),
    ...(options.perCpu
      ? [ldx('u64', 1, 0, 0), alu64Imm('add', 1, 1), stx('u64', 0, 1, 0)]
      : [mov64Imm(1, 1), atomic('u64', 'add', 0, 1, 0)]),
  );
  b.label('out').emit(mov64Imm(0, pass), exit());
  return b.link().insns;
}
