import { describe, expect, it } from 'vitest';
import {
  AttachFlags,
  AttachType,
  BpfAttr,
  BpfCmd,
  Helper,
  LinkType,
  MapFlags,
  MapType,
  ProgType,
  SkBuff,
  TcAction,
  UapiError,
  UpdateFlags,
  adjRoomEncapL2,
  attachTypeName,
  bpfCmdName,
  field,
  fieldAt,
  flagNames,
  helperId,
  helperName,
  linkTypeName,
  mapTypeName,
  nameOf,
  offsetOf,
  progTypeName,
  sizeOf,
  tcActionName,
  xdpActionName,
} from '../../lib/uapi/index.js';

describe('uapi enum tables', () => {
  it('have the 6.18 numbers at both ends', () => {
    expect(BpfCmd.BPF_MAP_CREATE).toBe(0);
    expect(BpfCmd.BPF_PROG_RUN).toBe(BpfCmd.BPF_PROG_TEST_RUN);
    expect(BpfCmd.BPF_TOKEN_CREATE).toBe(36);
    expect(BpfCmd.BPF_PROG_STREAM_READ_BY_FD).toBe(37);
    expect(MapType.BPF_MAP_TYPE_PROG_ARRAY).toBe(3);
    expect(MapType.BPF_MAP_TYPE_ARENA).toBe(33);
    expect(ProgType.BPF_PROG_TYPE_SOCKET_FILTER).toBe(1);
    expect(ProgType.BPF_PROG_TYPE_NETFILTER).toBe(32);
    expect(AttachType.BPF_CGROUP_INET_INGRESS).toBe(0);
    expect(AttachType.BPF_TCX_INGRESS).toBe(46);
    expect(AttachType.BPF_TCX_EGRESS).toBe(47);
    expect(AttachType.BPF_NETKIT_PEER).toBe(55);
    expect(AttachType.BPF_TRACE_UPROBE_SESSION).toBe(57);
    expect(LinkType.BPF_LINK_TYPE_SOCKMAP).toBe(14);
  });

  it('are dense from 0 (no gaps, aliases aside)', () => {
    for (const t of [BpfCmd, MapType, ProgType, AttachType, LinkType]) {
      const vals = [...new Set(Object.values(t))].sort((a, b) => a - b);
      expect(vals).toEqual(vals.map((_, i) => i));
    }
  });

  it('reverse lookups return the C name, first alias wins, unknown is undefined', () => {
    expect(bpfCmdName(10)).toBe('BPF_PROG_TEST_RUN');
    expect(bpfCmdName(999)).toBeUndefined();
    expect(mapTypeName(19)).toBe('BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED');
    expect(mapTypeName(MapType.BPF_MAP_TYPE_LRU_HASH)).toBe('BPF_MAP_TYPE_LRU_HASH');
    expect(progTypeName(6)).toBe('BPF_PROG_TYPE_XDP');
    expect(attachTypeName(AttachType.BPF_CGROUP_UNIX_CONNECT)).toBe('BPF_CGROUP_UNIX_CONNECT');
    expect(linkTypeName(11)).toBe('BPF_LINK_TYPE_TCX');
    expect(xdpActionName(2)).toBe('XDP_PASS');
    expect(tcActionName(-1)).toBe('TC_ACT_UNSPEC');
    expect(TcAction.TC_ACT_SHOT).toBe(2);
    expect(nameOf(UpdateFlags, 4)).toBe('BPF_F_LOCK');
  });
});

describe('helpers', () => {
  it('ids follow ___BPF_FUNC_MAPPER', () => {
    expect(Helper.map_lookup_elem).toBe(1);
    expect(Helper.map_update_elem).toBe(2);
    expect(Helper.tail_call).toBe(12);
    expect(Helper.redirect).toBe(23);
    expect(Helper.fib_lookup).toBe(69);
    expect(Helper.ringbuf_output).toBe(130);
    expect(Helper.cgrp_storage_delete).toBe(211);
    expect(Object.keys(Helper)).toHaveLength(212);
  });

  it('helperName and helperId are inverse; bpf_ prefix accepted', () => {
    for (const [name, id] of Object.entries(Helper)) {
      expect(helperName(id)).toBe(name);
      expect(helperId(name)).toBe(id);
    }
    expect(helperId('bpf_map_lookup_elem')).toBe(1);
    expect(helperName(5000)).toBeUndefined();
    expect(() => helperId('no_such_helper')).toThrow(UapiError);
    expect(() => helperId('toString')).toThrow(UapiError);
  });

  it('encodes BPF_F_ADJ_ROOM_ENCAP_L2(len)', () => {
    expect(adjRoomEncapL2(14)).toBe(14n << 56n);
    expect(adjRoomEncapL2(0x1ff)).toBe(0xffn << 56n);
  });
});

describe('flags and layout lookups', () => {
  it('decomposes flag masks', () => {
    expect(flagNames(MapFlags, MapFlags.BPF_F_NO_PREALLOC | MapFlags.BPF_F_MMAPABLE)).toEqual({
      names: ['BPF_F_NO_PREALLOC', 'BPF_F_MMAPABLE'],
      unknown: 0,
    });
    expect(flagNames(AttachFlags, AttachFlags.BPF_F_LINK | (1 << 30))).toEqual({ names: ['BPF_F_LINK'], unknown: 1 << 30 });
    expect(MapFlags.BPF_F_NO_USER_CONV).toBe(1 << 18);
  });

  it('finds members by name and by offset', () => {
    expect(offsetOf(SkBuff, 'mark')).toBe(8);
    expect(field(SkBuff, 'cb')).toEqual({ name: 'cb', offset: 48, size: 4, count: 5 });
    expect(sizeOf(SkBuff, 'remote_ip6')).toBe(16);
    expect(fieldAt(SkBuff, 56)?.name).toBe('cb');
    expect(fieldAt(SkBuff, 181)).toBeUndefined(); // padding after tstamp_type
    expect(offsetOf(BpfAttr.testRun, 'batch_size')).toBe(72);
    expect(offsetOf(BpfAttr.btfLoad, 'btf_token_fd')).toBe(36);
    expect(() => offsetOf(SkBuff, 'nope')).toThrow(UapiError);
  });
});
