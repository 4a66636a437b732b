/*
 * graphrt_cpu.h: public C header of the graphcore CPU runtime.
 *
 * Third-party op packages include this (see graphrt_cpu.get_include()) to
 * ship native C kernels that the graphrt-cpu virtual machine calls directly.
 * The kernel ABI (kernel signature, array descriptors, error reporting) is
 * defined here later; until then this header declares nothing.
 */
#ifndef GRAPHRT_CPU_H
#define GRAPHRT_CPU_H

#define GRAPHRT_CPU_ABI_VERSION 0

#endif /* GRAPHRT_CPU_H */
