/**
 * The connect-time load balancer (bpf-progs/connect-lb) end to end, as root:
 * three backend namespaces running servers, a client namespace, and the DSL
 * datapath attached to a cgroup (the one given with `--cgroup PATH`, else a
 * dedicated one created here). The client, a process in that cgroup, connects
 * to a VIP that exists only in the maps; the example prints which backend
 * answered and what getpeername() reported, then the same over UDP, and
 * removes everything.
 *
 * ```
 * npm run example:connect-lb [-- --cgroup /sys/fs/cgroup/my-test] [--c-twin] [--tag NAME]
 * ```
 *
 * `--c-twin` runs the C twin (bench/twins/sock_lb.c, needs clang-22) instead
 * of the DSL datapath.
 */
import { pathToFileURL } from 'node:url';
import { ConnectLb } from '../bpf-progs/connect-lb/attach.js';
import { dslDatapath } from '../bpf-progs/connect-lb/datapath.js';
import { BACKEND_PORT, Lab } from '../bpf-progs/connect-lb/lab.js';
import { runProbe } from '../bpf-progs/connect-lb/probe.js';
import { cTwinDatapath } from '../bpf-progs/connect-lb/twin.js';
import { Cgroup } from '../lib/kernel/cgroup.js';

/** Runs the example; `args` as on the command line. */
export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const at = args.indexOf('--cgroup');
  const cgroupPath = at >= 0 ? args[at + 1] : undefined;
  const datapath = args.includes('--c-twin') ? cTwinDatapath() : dslDatapath();
  // Prefix of every namespace, interface and cgroup name (interface names stay within 15 characters).
  const tagAt = args.indexOf('--tag');
  const tag = (tagAt >= 0 && args[tagAt + 1] ? args[tagAt + 1]! : `clx${(process.pid % 10000).toString(36)}`).slice(0, 11);
  // A user-given cgroup is used as it is; otherwise a dedicated one is created (and removed).
  const cgroup = cgroupPath ? Cgroup.open(cgroupPath) : Cgroup.create(`tsbpf-connect-lb-${tag}`);
  const lab = await Lab.create({ name: (t) => `${tag}${t}`, cgroup });
  let lb: ConnectLb | undefined;
  try {
    lb = ConnectLb.attach({ datapath, cgroup });
    console.log(`datapath ${lb.datapathName} attached to ${cgroup.path} (8 programs)`);
    const vip = '10.96.0.10';
    const backends = lab.backends.map((b) => ({ address: b.v4, port: BACKEND_PORT }));
    lb.controlPlane.addService({ vip, port: 80, proto: 'tcp' }, backends);
    lb.controlPlane.addService({ vip, port: 53, proto: 'udp' }, backends);
    lb.controlPlane.addService({ vip: 'fd96::10', port: 80, proto: 'tcp' }, lab.backends.map((b) => ({ address: b.v6, port: BACKEND_PORT })));
    lb.controlPlane.addService({ vip: '10.96.0.11', port: 80, proto: 'tcp' }, []);
    console.log(`services: ${lb.controlPlane.services().map((s) => `${s.service.vip}:${s.service.port}/${s.service.proto} -> [${s.backends.map((b) => `${b.address}:${b.port}`).join(', ')}]`).join('; ')}`);

    const results = await runProbe(lab.cgroup, lab.clientPath, [
      { kind: 'tcp', host: vip, port: 80 },
      { kind: 'tcp', host: vip, port: 80 },
      { kind: 'tcp', host: vip, port: 80 },
      { kind: 'tcp', host: 'fd96::10', port: 80 },
      { kind: 'tcp', host: `::ffff:${vip}`, port: 80 },
      { kind: 'udp', host: vip, port: 53, sends: 3 },
      { kind: 'tcp', host: '10.96.0.11', port: 80 },
    ]);
    for (const r of results.slice(0, 5)) {
      if (!r.ok) console.log(`tcp: failed with ${r.code}`);
      else console.log(`tcp: answered by ${r.reply!.split(' ')[0]} (server's local address ${r.reply!.split(' ')[1]}), getpeername() = ${r.peer!.address}:${r.peer!.port}`);
    }
    const u = results[5]!;
    if (u.ok) console.log(`udp: ${u.replies!.map((x) => `${x.reply} from ${x.from.address}:${x.from.port}`).join(', ')} (one socket, one backend)`);
    else console.log(`udp: failed with ${u.code}`);
    console.log(`tcp to a service without backends: ${results[6]!.ok ? 'connected?!' : results[6]!.code}`);
  } finally {
    lb?.close();
    await lab.close();
    if (!cgroupPath) cgroup.remove();
  }
  console.log('cleaned up');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
