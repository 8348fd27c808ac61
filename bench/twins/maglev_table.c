/*
 * C twin of bpf-progs/maglev/table.ts: Maglev table generation (NSDI 2016,
 * section 3.4) with the same hashes and tie rules, so `tsbpf bench maglev`
 * can time both and check that they build identical tables.
 *
 *   h1 = fmix64(FNV-1a-64(name, basis 0xcbf29ce484222325))
 *   h2 = fmix64(FNV-1a-64(name, basis 0xcbf29ce484222325 ^ 0x9e3779b97f4a7c15))
 *   offset = h1 % M, skip = h2 % (M - 1) + 1
 *
 * Backends are sorted by name (strcmp, i.e. UTF-8 byte order); table entries
 * are indices into that order. Weighted fill: each round a backend adds its
 * weight to a credit and claims a slot when the credit reaches the largest
 * weight. Equal weights give the paper's algorithm exactly.
 *
 * Usage: maglev_table NAMES_FILE M REPEAT [DUMP_FILE]
 *   NAMES_FILE: one backend per line, "name" or "name<TAB>weight".
 *   Builds the table REPEAT times (names already in memory: sort, hash, fill,
 *   as the TypeScript function does) and prints
 *     ns <t1> <t2> ...      (each build in nanoseconds, CLOCK_MONOTONIC)
 *     checksum <FNV-1a-32 of the table as little-endian int32 words, hex>
 *   and writes the last table (int32 little-endian) to DUMP_FILE if given.
 *
 * Build: gcc -O2 -o maglev_table maglev_table.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct backend {
	const char *name;
	uint32_t weight;
};

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct backend *)a)->name, ((const struct backend *)b)->name);
}

/* Fills table[0..m) with indices into the name-sorted copy of `in`; -1 when no weight is positive. */
static int32_t *maglev_table(const struct backend *in, uint32_t n, uint32_t m)
{
	struct backend *b = malloc(sizeof(*b) * (n ? n : 1));
	int32_t *pos = malloc(sizeof(int32_t) * (n ? n : 1));
	int32_t *skip = malloc(sizeof(int32_t) * (n ? n : 1));
	int32_t *credit = calloc(n ? n : 1, sizeof(int32_t));
	int32_t *table = malloc(sizeof(int32_t) * m);
	uint32_t wmax = 0;
	int weighted = 0;

	memcpy(b, in, sizeof(*b) * n);
	qsort(b, n, sizeof(*b), by_name);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t x = 0xcbf29ce484222325ULL;
		uint64_t y = 0xcbf29ce484222325ULL ^ 0x9e3779b97f4a7c15ULL;
		for (const unsigned char *p = (const unsigned char *)b[i].name; *p; p++) {
			x = (x ^ *p) * 0x100000001b3ULL;
			y = (y ^ *p) * 0x100000001b3ULL;
		}
		pos[i] = (int32_t)(fmix64(x) % m);
		skip[i] = (int32_t)(fmix64(y) % (m - 1) + 1);
		if (b[i].weight != b[0].weight)
			weighted = 1;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
	}
	for (uint32_t s = 0; s < m; s++)
		table[s] = -1;
	if (wmax == 0)
		goto out;

	uint32_t filled = 0;
	for (;;) {
		for (uint32_t i = 0; i < n; i++) {
			if (weighted) {
				int32_t cr = credit[i] + (int32_t)b[i].weight;
				if ((uint32_t)cr < wmax) {
					credit[i] = cr;
					continue;
				}
				credit[i] = cr - (int32_t)wmax;
			}
			int32_t c = pos[i];
			int32_t sk = skip[i];
			while (table[c] >= 0) {
				c += sk;
				if (c >= (int32_t)m)
					c -= m;
			}
			table[c] = (int32_t)i;
			c += sk;
			if (c >= (int32_t)m)
				c -= m;
			pos[i] = c;
			if (++filled == m)
				goto out;
		}
	}
out:
	free(b);
	free(pos);
	free(skip);
	free(credit);
	return table;
}

static uint32_t checksum(const int32_t *t, uint32_t m)
{
	uint32_t h = 0x811c9dc5u;
	for (uint32_t i = 0; i < m; i++) {
		uint32_t v = (uint32_t)t[i];
		for (int k = 0; k < 4; k++) {
			h ^= (v >> (8 * k)) & 0xff;
			h *= 0x01000193u;
		}
	}
	return h;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s NAMES_FILE M REPEAT [DUMP_FILE]\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	uint32_t m = (uint32_t)strtoul(argv[2], NULL, 10);
	int repeat = atoi(argv[3]);
	uint32_t n = 0, cap = 64;
	struct backend *b = malloc(sizeof(*b) * cap);
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		line[len] = 0;
		if (!len)
			continue;
		char *tab = strchr(line, '\t');
		uint32_t w = 1;
		if (tab) {
			*tab = 0;
			w = (uint32_t)strtoul(tab + 1, NULL, 10);
		}
		if (n == cap)
			b = realloc(b, sizeof(*b) * (cap *= 2));
		b[n].name = strdup(line);
		b[n].weight = w;
		n++;
	}
	fclose(f);
	if (m < 3 || n > m) {
		fprintf(stderr, "bad M %u for %u backends\n", m, n);
		return 2;
	}

	int32_t *t = NULL;
	printf("ns");
	for (int r = 0; r < repeat; r++) {
		if (t)
			free(t);
		uint64_t t0 = now_ns();
		t = maglev_table(b, n, m);
		uint64_t t1 = now_ns();
		printf(" %llu", (unsigned long long)(t1 - t0));
	}
	printf("\n");
	if (!t)
		t = maglev_table(b, n, m);
	printf("checksum %08x\n", checksum(t, m));
	if (argc > 4) {
		FILE *d = fopen(argv[4], "wb");
		if (!d || fwrite(t, sizeof(int32_t), m, d) != m) {
			perror(argv[4]);
			return 1;
		}
		fclose(d);
	}
	return 0;
}
