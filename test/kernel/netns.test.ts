import { readlinkSync, existsSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { NetNs, NetnsError, withNetns } from '../../lib/kernel/netns.js';
import { ifIndex, NetdevError, deleteLink, createVethPair } from '../../lib/kernel/netdev.js';
import { describeKernel, testName } from '../helpers/env.js';
import { sendUdp, udpSocketIn, vethTopology } from '../helpers/net.js';

const here = () => readlinkSync('/proc/thread-self/ns/net');

describeKernel('network namespaces', () => {
  const cleanup: (() => void)[] = [];
  afterAll(() => {
    for (const f of cleanup.reverse()) f();
  });

  it('creates, enters synchronously, returns, and removes a namespace', () => {
    const name = testName('ns');
    const ns = NetNs.create(name);
    cleanup.push(() => ns.remove());
    const outside = here();
    const inside = ns.run(() => here());
    expect(inside).not.toBe(outside);
    expect(here()).toBe(outside);
    // The loopback is up inside, and only lo exists.
    expect(ns.run(() => ifIndex('lo'))).toBe(1);
    expect(() => ifIndex('lo', ns)).not.toThrow();
    expect(withNetns(name, () => here())).toBe(inside);
    expect(withNetns(ns.fd, () => here())).toBe(inside);
    expect(ns.exec('ip', ['-o', 'link', 'show'])).toMatch(/\blo\b/);
    ns.remove();
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
    ns.remove();
  });

  it('switches back when the function throws, and after an async function settles', async () => {
    const ns = NetNs.create(testName('ns'));
    cleanup.push(() => ns.remove());
    const outside = here();
    expect(() =>
      ns.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(here()).toBe(outside);
    const inside = await ns.run(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return here();
    });
    expect(inside).not.toBe(outside);
    expect(here()).toBe(outside);
    await expect(ns.run(async () => Promise.reject(new Error('late')))).rejects.toThrow('late');
    expect(here()).toBe(outside);
    ns.remove();
  });

  it('nests namespaces and restores each level', () => {
    const a = NetNs.create(testName('na'));
    cleanup.push(() => a.remove());
    const b = NetNs.create(testName('nb'));
    cleanup.push(() => b.remove());
    const outside = here();
    const [ia, ib, ia2] = a.run(() => {
      const x = here();
      const y = b.run(() => here());
      return [x, y, here()];
    });
    expect(new Set([outside, ia, ib]).size).toBe(3);
    expect(ia2).toBe(ia);
    expect(here()).toBe(outside);
    a.remove();
    b.remove();
  });

  it('rejects bad names and missing namespaces', () => {
    expect(() => NetNs.create('bad name')).toThrow(NetnsError);
    expect(() => NetNs.open(testName('missing'))).toThrow(NetnsError);
    expect(() => ifIndex(testName('nodev'))).toThrow(NetdevError);
  });

  it('joins two namespaces with a veth pair and carries UDP between them', async () => {
    const t = vethTopology('u');
    cleanup.push(() => t.remove());
    expect(t.ifindexA).toBeGreaterThan(1);
    expect(t.ifindexB).toBeGreaterThan(1);
    expect(() => ifIndex(t.vethA)).toThrow(NetdevError); // not in the root namespace
    const server = await udpSocketIn(t.b, t.addrB);
    try {
      const got: string[] = [];
      const done = new Promise<void>((res) =>
        server.on('message', (m) => {
          got.push(m.toString());
          if (got.length === 3) res();
        }),
      );
      await sendUdp(t.a, t.addrA, t.addrB, server.address().port, 3);
      await done;
      expect(got).toEqual(['packet 0', 'packet 1', 'packet 2']);
    } finally {
      server.close();
    }
    t.remove();
    expect(existsSync(`/run/netns/${t.a.name}`)).toBe(false);
  });

  it('creates and deletes a veth pair in the root namespace', () => {
    const x = testName('vx');
    const y = testName('vy');
    try {
      createVethPair({ name: x }, { name: y });
      expect(ifIndex(x)).toBeGreaterThan(0);
    } finally {
      deleteLink(x);
    }
    expect(() => ifIndex(y)).toThrow(NetdevError);
    deleteLink(x);
  });
});
