/**
 * Counts UDP packets per destination port in an XDP program: the tsbpf DSL
 * version of the classic C example (parse eth/ipv4/udp, bump a hash map).
 */
import { ETH_P_IP, IPPROTO_UDP, XDP_PASS, ethhdr, hashMap, htons, iphdr, u16, u64, udphdr, xdp } from '../lib/dsl/index.js';

/** Packets per UDP destination port (host order). */
export const counts = hashMap('counts', { key: u16, value: u64, maxEntries: 1024 });

/** The XDP program. */
export const countUdp = xdp('count_udp', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const ip = b.header(iphdr, b.after(eth), pass);
  b.if(ip.protocol.ne(IPPROTO_UDP), pass);
  const udp = b.header(udphdr, b.after(ip), pass);
  const port = udp.dest.toHost();
  b.ifNotNull(b.lookup(counts, port), (n) => n.value.atomicAdd(1n), () => b.update(counts, port, 1n));
  return b.return(XDP_PASS);
});

/** Run directly (as root): loads the program, feeds it a few packets with BPF_PROG_RUN and prints the counts. */
async function main(): Promise<void> {
  const { loadDslProgram } = await import('../lib/kernel/dsl-loader.js');
  const loaded = loadDslProgram(countUdp);
  try {
    for (const port of [53, 53, 123, 53, 4789]) {
      const pkt = new Uint8Array(14 + 20 + 8);
      const v = new DataView(pkt.buffer);
      v.setUint16(12, 0x0800);
      pkt[14] = 0x45;
      pkt[23] = 17;
      v.setUint16(36, port);
      loaded.program.testRun({ data: pkt });
    }
    const m = loaded.typed(counts);
    for (const port of [53, 123, 4789]) console.log(`udp port ${port}: ${m.get(port) ?? 0n} packets`);
  } finally {
    loaded.close();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
