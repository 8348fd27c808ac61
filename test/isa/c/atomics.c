// Atomics of both sizes, with and without fetch, xchg and cmpxchg (ISA v3+).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 c64 = 0;
__u32 c32 = 0;
__u64 out64[8];
__u32 out32[8];

SEC("tc")
int atomics(struct __sk_buff *skb) {
  __u64 v = skb->len;
  __sync_fetch_and_add(&c64, v);
  __sync_fetch_and_add(&c32, 1);
  __sync_fetch_and_or(&c64, 2);
  __sync_fetch_and_and(&c32, 0xff);
  __sync_fetch_and_xor(&c64, v);
  out64[0] = __sync_fetch_and_add(&c64, 3);
  out64[1] = __sync_fetch_and_or(&c64, 4);
  out64[2] = __sync_fetch_and_and(&c64, 5);
  out64[3] = __sync_fetch_and_xor(&c64, 6);
  out64[4] = __sync_lock_test_and_set(&c64, 7);
  out64[5] = __sync_val_compare_and_swap(&c64, 7, v);
  out32[0] = __sync_fetch_and_add(&c32, 3);
  out32[1] = __sync_fetch_and_or(&c32, 4);
  out32[2] = __sync_fetch_and_and(&c32, 5);
  out32[3] = __sync_fetch_and_xor(&c32, 6);
  out32[4] = __sync_lock_test_and_set(&c32, 7);
  out32[5] = __sync_val_compare_and_swap(&c32, 7, (__u32)v);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
