#ifndef MOONWATCH_WIRE_H
#define MOONWATCH_WIRE_H
/* Kernel <-> user wire structs, shared by bpf/*.bpf.c and the Swift decoder. Filled in by the
 * probe layer. */
#define MW_WIRE_VERSION 1
#endif
