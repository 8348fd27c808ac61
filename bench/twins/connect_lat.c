// Latency client and sink server for `tsbpf bench connect-lb` (userspace C,
// built by the benchmark with gcc -O2).
//
//   connect_lat client CPU ADDR PORT N WARMUP
//     pins itself to CPU, then N times (after WARMUP untimed ones): socket(),
//     SO_LINGER {1, 0}, then times connect() + close() (the close sends a RST,
//     so no TIME_WAIT builds up). Prints one latency in nanoseconds per line,
//     then `errors E` (failed connects, not timed).
//   connect_lat server CPU PORT
//     pins itself to CPU, listens on [::]:PORT (dual-stack), accepts and
//     closes connections until killed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    perror("sched_setaffinity");
    exit(2);
  }
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int server(int port) {
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  if (s < 0) return perror("socket"), 2;
  int zero = 0, one = 1;
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
  if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) return perror("bind"), 2;
  if (listen(s, 4096) != 0) return perror("listen"), 2;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c >= 0) close(c);
    else if (errno != EINTR && errno != ECONNABORTED) return perror("accept"), 2;
  }
}

static int client(const char *addr, int port, long n, long warmup) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  int family;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof(*a4);
  } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(*a6);
  } else {
    fprintf(stderr, "bad address %s\n", addr);
    return 2;
  }
  long long *lat = calloc(n, sizeof(long long));
  if (!lat) return 2;
  long errors = 0, got = 0;
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  for (long i = 0; i < n + warmup; i++) {
    int s = socket(family, SOCK_STREAM, 0);
    if (s < 0) return perror("socket"), 2;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    long long t0 = now_ns();
    int r = connect(s, (struct sockaddr *)&ss, len);
    close(s);
    long long t1 = now_ns();
    if (r != 0) {
      errors++;
      if (errors > 100) break;
      continue;
    }
    if (i >= warmup) lat[got++] = t1 - t0;
  }
  for (long i = 0; i < got; i++) printf("%lld\n", lat[i]);
  printf("errors %ld\n", errors);
  free(lat);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 7 && strcmp(argv[1], "client") == 0) {
    pin(atoi(argv[2]));
    return client(argv[3], atoi(argv[4]), atol(argv[5]), atol(argv[6]));
  }
  if (argc == 4 && strcmp(argv[1], "server") == 0) {
    pin(atoi(argv[2]));
    return server(atoi(argv[3]));
  }
  fprintf(stderr, "usage: connect_lat client CPU ADDR PORT N WARMUP | connect_lat server CPU PORT\n");
  return 2;
}
