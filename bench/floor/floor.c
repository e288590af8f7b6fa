/* The physical floor of a broker's produce path on this machine: a TCP receiver that does only what a persisting
 * broker must do with each byte (receive it, check a CRC-32C, write it into the page cache), and what an in-memory
 * broker does (receive it, copy it into memory), measured as the receiver's CPU-seconds per GB.
 *
 *   gcc -O2 -msse4.2 -o floor floor.c && ./floor DIR [GB] [CHUNK]
 *
 * Modes, each a fresh connection from a sender thread in the same process (the sender's CPU is not counted):
 *   recv        receive and drop
 *   recv+copy   receive, copy into a growing in-memory store (fresh pages: each first touch faults and zero-fills)
 *   recv+ring   receive, copy into a reused 64 MiB in-memory ring (warm pages: an in-memory broker that drops old data,
 *               as librdkafka's mock cluster does)
 *   recv+crc    receive, CRC-32C over every byte
 *   recv+write  receive, write() to a file (page-cache copy)
 *   recv+crc+write
 * and the consume side, measured on the sender (the receiver drops what it gets):
 *   sendfile    sendfile() from a file in the page cache to the socket, 1 MiB per call (what a zero-copy broker does)
 *   read+send   read() from that file into a buffer, then send() (one user-space copy)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <nmmintrin.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long total;
static size_t chunk;
static int port;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

double thread_cpu(void)
{
    struct rusage u; getrusage(RUSAGE_THREAD, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static const char *send_mode; /* NULL: the plain sender; else "sendfile" or "read+send" from send_file */
static int send_file = -1;
static double sender_cpu;

double thread_cpu(void);

static void *sender(void *arg)
{
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
    char *buf = malloc(chunk);
    for (size_t i = 0; i < chunk; i++) buf[i] = (char)(i * 131);
    double c0 = thread_cpu();
    for (long long sent = 0; sent < total;)
    {
        ssize_t n;
        if (send_mode && strcmp(send_mode, "sendfile") == 0)
        {
            off_t off = sent;
            n = sendfile(s, send_file, &off, chunk);
        }
        else if (send_mode)
        {
            n = pread(send_file, buf, chunk, sent);
            if (n > 0) n = send(s, buf, (size_t)n, 0);
        }
        else n = send(s, buf, chunk, 0);
        if (n <= 0) { perror("send"); exit(1); }
        sent += n;
    }
    sender_cpu = thread_cpu() - c0;
    close(s);
    free(buf);
    return NULL;
}

static uint32_t crc32c(uint32_t c, const char *p, size_t n)
{
    uint64_t x = c;
    for (; n >= 8; n -= 8, p += 8) { uint64_t v; memcpy(&v, p, 8); x = _mm_crc32_u64(x, v); }
    c = (uint32_t)x;
    for (; n; n--, p++) c = _mm_crc32_u8(c, (unsigned char)*p);
    return c;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: floor DIR [GB] [CHUNK]\n"); return 2; }
    double gb = argc > 2 ? atof(argv[2]) : 2;
    chunk = argc > 3 ? (size_t)atol(argv[3]) : 1 << 20;
    total = (long long)(gb * 1e9);
    const char *modes[] = { "recv", "recv+copy", "recv+ring", "recv+crc", "recv+write", "recv+crc+write" };
    const int nmodes = (int)(sizeof modes / sizeof modes[0]);
    printf("| mode | CPU-s per GB | GB/s |\n|---|---:|---:|\n");
    for (int m = 0; m < nmodes; m++)
    {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1; setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bind(l, (struct sockaddr *)&a, sizeof a); listen(l, 1);
        socklen_t al = sizeof a; getsockname(l, (struct sockaddr *)&a, &al); port = ntohs(a.sin_port);
        pthread_t t; pthread_create(&t, NULL, sender, NULL);
        int c = accept(l, NULL, NULL);
        char path[4096]; snprintf(path, sizeof path, "%s/floor-%d.log", argv[1], m);
        int f = -1;
        if (strstr(modes[m], "write")) f = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        char *store = NULL; long long stored = 0;
        long long ring = 0; /* 0: the store grows; else its size, reused from the start when full */
        if (strcmp(modes[m], "recv+copy") == 0) store = malloc((size_t)total + chunk); /* the sender rounds up to whole chunks */
        if (strcmp(modes[m], "recv+ring") == 0) { ring = 64 << 20; store = malloc((size_t)ring + chunk); memset(store, 1, (size_t)ring + chunk); }
        char *buf = malloc(chunk);
        uint32_t crc = 0;
        double c0 = thread_cpu(), t0 = now();
        long long got = 0;
        for (;;)
        {
            ssize_t n = recv(c, buf, chunk, MSG_WAITALL);
            if (n <= 0) break;
            got += n;
            if (store)
            {
                if (ring && stored + n > ring) stored = 0;
                memcpy(store + stored, buf, (size_t)n); stored += n;
            }
            if (strstr(modes[m], "crc")) crc = crc32c(crc, buf, (size_t)n);
            if (f >= 0 && write(f, buf, (size_t)n) != n) { perror("write"); return 1; }
        }
        double cpu = thread_cpu() - c0, el = now() - t0;
        pthread_join(t, NULL);
        printf("| %s | %.3f | %.2f |%s\n", modes[m], cpu / (got / 1e9), got / 1e9 / el, crc == 1 ? " " : "");
        fflush(stdout);
        if (f >= 0) { close(f); unlink(path); }
        free(store); free(buf); close(c); close(l);
    }
    /* the consume side: a file of the same size in the page cache, sent to a receiver that drops it */
    char path[4096]; snprintf(path, sizeof path, "%s/floor-send.log", argv[1]);
    send_file = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    char *fill = malloc(chunk);
    for (size_t i = 0; i < chunk; i++) fill[i] = (char)(i * 7);
    for (long long w = 0; w < total + (long long)chunk; w += (long long)chunk)
        if (write(send_file, fill, chunk) != (ssize_t)chunk) { perror("write"); return 1; }
    free(fill);
    const char *send_modes[] = { "sendfile", "read+send" };
    for (int m = 0; m < 2; m++)
    {
        send_mode = send_modes[m];
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bind(l, (struct sockaddr *)&a, sizeof a); listen(l, 1);
        socklen_t al = sizeof a; getsockname(l, (struct sockaddr *)&a, &al); port = ntohs(a.sin_port);
        pthread_t t; pthread_create(&t, NULL, sender, NULL);
        int c = accept(l, NULL, NULL);
        char *buf = malloc(chunk);
        double t0 = now();
        long long got = 0;
        for (ssize_t n; (n = recv(c, buf, chunk, MSG_WAITALL)) > 0;) got += n;
        double el = now() - t0;
        pthread_join(t, NULL);
        printf("| %s (sender) | %.3f | %.2f |\n", send_mode, sender_cpu / (got / 1e9), got / 1e9 / el);
        fflush(stdout);
        free(buf); close(c); close(l);
    }
    close(send_file); unlink(path);
    return 0;
}
