/*
 * Scenarios for the probe layer's blind spots (issue 8): what an attacker does to make the
 * probes read nothing, read something else than the kernel used, or see the wrong ABI.
 *
 * cold-exec     a freshly forked child execs strings in a page it never touched: at sys_enter the
 *               page is not mapped, so the entry read fails; the new image has them. Then the
 *               textbook form, string literals in a fresh child.
 * cold-connect  a fresh child connects to an address in a page it never touched.
 * far32         a 64-bit program far-jumps into the 32-bit code segment and makes an ia32 call
 *               from there (close(-1), ia32 6): the code segment says 32, the program is 64-bit.
 * exec-race N   one thread flips argv[1] while another execs (up to N tries, until the exec'd
 *               program says it received the flipped value); prints what the program received.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "triggers.h"

/*
 * `len` bytes of `data` in a page this process has never touched: a private mapping of a memfd
 * holding them. Until something reads it, the page has no entry in the page tables, so the probes'
 * reads (which never fault pages in) fail, while the kernel's own copies fault it in.
 */
static void *cold_page(const void *data, size_t len)
{
    int fd = memfd_create("mw-cold", 0);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) die("memfd");
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    close(fd);
    return p;
}

/* The strings and argv array of an exec, laid out in one cold page. */
int cold_exec(void)
{
    char buf[256] = {0};
    strcpy(buf, "/bin/sh");
    strcpy(buf + 16, "sh");
    strcpy(buf + 32, "-c");
    strcpy(buf + 48, "exit 7");
    pid_t child = fork();
    if (child == 0) {
        char *p = cold_page(buf, sizeof(buf));
        /* argv itself is on the stack (touched); the strings it points to are cold */
        char *argv[] = {p + 16, p + 32, p + 48, NULL};
        char *envp[] = {NULL};
        execve(p, argv, envp);
        _exit(127);
    }
    int st;
    waitpid(child, &st, 0);
    OUT("child=%d status=%d\n", child, WEXITSTATUS(st));
    /* the textbook form: literals in a fresh child (cold or not depends on the binary's layout) */
    pid_t lit = fork();
    if (lit == 0) {
        execl("/bin/sh", "sh", "-c", "exit 8", (char *)NULL);
        _exit(127);
    }
    waitpid(lit, &st, 0);
    OUT("literal_child=%d literal_status=%d\n", lit, WEXITSTATUS(st));
    return 0;
}

int cold_connect(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in la = loopback4(1337);
    int bound = bind(ls, (void *)&la, sizeof(la));
    listen(ls, 1);
    pid_t child = fork();
    if (child == 0) {
        const struct sockaddr_in *cold = cold_page(&la, sizeof(la));
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int r = connect(s, (const struct sockaddr *)cold, sizeof(*cold));
        _exit(r == 0 ? 0 : 1);
    }
    int st;
    waitpid(child, &st, 0);
    OUT("bound=%d child=%d status=%d port=1337\n", bound, child, WEXITSTATUS(st));
    return 0;
}

/*
 * Far jump into the 32-bit user code segment (0x23), int $0x80 getpid, far jump back to 64-bit
 * (0x33). Code, stack and the way back live below 4 GiB, where 32-bit code can address them.
 */
int far32(void)
{
    uint8_t *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    uint32_t base = (uint32_t)(uintptr_t)p;
    uint8_t *code32 = p, *back64 = p + 64;
    uint64_t *slot_rsp = (uint64_t *)(p + 256), *slot_ret = (uint64_t *)(p + 264);
    uint32_t *result = (uint32_t *)(p + 272);
    uint32_t stack_top = base + 65536 - 64;
    /* 32-bit: mov eax, 6; mov ebx, -1; int 0x80; mov [result], eax; ljmp 0x33:back64 (ss stays
     * the 64-bit one, which is valid data in both modes) */
    uint8_t c32[] = {0xb8, 6, 0, 0, 0, 0xbb, 0xff, 0xff, 0xff, 0xff, 0xcd, 0x80, 0xa3, 0, 0, 0, 0,
                     0xea, 0, 0, 0, 0, 0x33, 0x00};
    uint32_t r = base + 272, b = base + 64;
    memcpy(c32 + 13, &r, 4);
    memcpy(c32 + 18, &b, 4);
    memcpy(code32, c32, sizeof(c32));
    /* 64-bit: mov rsp, [slot_rsp]; jmp [slot_ret] */
    uint8_t c64[] = {0x48, 0x8b, 0x24, 0x25, 0, 0, 0, 0, 0xff, 0x24, 0x25, 0, 0, 0, 0};
    uint32_t sr = base + 256, st = base + 264;
    memcpy(c64 + 4, &sr, 4);
    memcpy(c64 + 11, &st, 4);
    memcpy(back64, c64, sizeof(c64));
    __asm__ volatile(
        "lea 1f(%%rip), %%rax\n\t"
        "mov %%rax, (%[ret])\n\t"
        "mov %%rsp, (%[rsp])\n\t"
        /* 32-bit code needs a data segment (64-bit code runs with null ones): __USER32_DS */
        "mov $0x2b, %%eax\n\t"
        "mov %%eax, %%ds\n\t"
        "mov %%eax, %%es\n\t"
        "mov %[stack], %%esp\n\t"
        "pushq $0x23\n\t"
        "pushq %[code]\n\t"
        "lretq\n\t"
        "1:\n\t"
        :
        : [ret] "r"(slot_ret), [rsp] "r"(slot_rsp), [stack] "r"(stack_top), [code] "r"((uint64_t)base)
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    OUT("far32_close=%d\n", (int)*result);
    return 0;
}

/* exec-race: argv[1] flips between two values while the main thread execs. */
static char race_arg[16] = "AAAAAAAA";
static volatile int racing = 1;

static void *flip(void *unused)
{
    (void)unused;
    while (racing) {
        memcpy(race_arg, "BBBBBBBB", 8);
        for (volatile int i = 0; i < 50; i++) {}
        memcpy(race_arg, "AAAAAAAA", 8);
        for (volatile int i = 0; i < 50; i++) {}
    }
    return NULL;
}

void race_tries(int tries, void *(*flipper)(void *), void (*exec_it)(void))
{
    for (int t = 0; t < tries; t++) {
        int fds[2];
        if (pipe(fds) < 0) die("pipe");
        pid_t child = fork();
        if (child == 0) {
            close(fds[0]);
            dup2(fds[1], 1);
            pthread_t th;
            pthread_create(&th, NULL, flipper, NULL);
            usleep(1000);
            exec_it();
            _exit(127);
        }
        close(fds[1]);
        char buf[64] = {0};
        ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
        close(fds[0]);
        waitpid(child, NULL, 0);
        if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
        OUT("try=%d child=%d received=%s\n", t, child, buf);
    }
}

static void exec_echo(void)
{
    char *argv[] = {"echo", race_arg, NULL};
    char *envp[] = {NULL};
    execve("/bin/echo", argv, envp);
}

int exec_race(int tries)
{
    race_tries(tries, flip, exec_echo);
    return 0;
}
