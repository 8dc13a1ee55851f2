#ifndef MOONWATCH_CLIBBPF_SHIM_H
#define MOONWATCH_CLIBBPF_SHIM_H
/* Debian's libbpf-dev (libbpf 1.1), found through pkg-config libbpf. */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#endif
