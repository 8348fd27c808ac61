// Function pointers for callbacks (ld_imm64 of a function) and a loop.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct ctx_t { __u64 sum; __u32 n; };

static long step(__u32 i, void *data) {
  struct ctx_t *c = data;
  c->sum += i * c->n;
  return c->sum > 100000 ? 1 : 0;
}

SEC("tc")
int looper(struct __sk_buff *skb) {
  struct ctx_t c = { .sum = 0, .n = skb->len };
  bpf_loop(64, step, &c, 0);
  return c.sum & 0xff;
}

char LICENSE[] SEC("license") = "GPL";
