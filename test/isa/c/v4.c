// ISA v4: signed division and modulo, sign-extending moves and loads, bswap.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct rec {
  signed char a;
  short b;
  int c;
  long d;
};

struct rec recs[4];
long results[8];

static __attribute__((noinline)) long sdivmod(long x, long y, int u, int v) {
  if (y == 0 || v == 0) return 0;
  return x / y + (long)(u % v) + (y % (x | 1));
}

SEC("tc")
int v4_ops(struct __sk_buff *skb) {
  struct rec *r = &recs[skb->len & 3];
  long a = r->a;        // ldsx s8
  long b = r->b;        // ldsx s16
  long c = r->c;        // ldsx s32
  int m = skb->mark;
  long s8 = (signed char)m;   // movsx
  long s16 = (short)m;
  long s32 = (int)skb->hash;
  int w8 = (signed char)skb->priority;
  results[0] = sdivmod(a + b, c | 1, m, w8 | 1);
  results[1] = s8 + s16 + s32 + w8;
  results[2] = __builtin_bswap64(r->d);
  results[3] = __builtin_bswap32(m) + __builtin_bswap16(m);
  return results[0] > 0;
}

char LICENSE[] SEC("license") = "GPL";
