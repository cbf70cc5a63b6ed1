/* Minimal Cortex-M4 startup for QEMU's mps2-an386, used with mps2_an386.ld and newlib's
 * rdimon.specs (semihosting). Reset_Handler enables the FPU, copies .data from flash to RAM,
 * then jumps to rdimon's crt0 `_start`, which sets the stack, clears .bss, reads the command
 * line into argv (SYS_GET_CMDLINE), runs main and exits through semihosting (SYS_EXIT_EXTENDED)
 * with main's return value. */
#include <stdint.h>

extern uint32_t __StackTop[];        /* symbols from mps2_an386.ld */
extern uint32_t __data_load__[], __data_start__[], __data_end__[];

extern void _start(void);            /* newlib rdimon crt0; never returns */
void Reset_Handler(void);

/* Any fault or unexpected exception parks the core here (QEMU keeps running: use a timeout). */
static void Default_Handler(void)
{
    for (;;) {
    }
}

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void)
{
    uint32_t *src = __data_load__, *dst = __data_start__;

    /* Full access to coprocessors CP10/CP11 (the FPU) before any float instruction runs. */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    while (dst < __data_end__)
        *dst++ = *src++;

    _start();
    Default_Handler();
}

/* crt0 takes SP and the heap limit from SYS_HEAPINFO, and QEMU answers with the largest RAM
 * of the board: the 16 MB PSRAM at 0x21000000, outside the 4 MB RAM this build models (and the
 * heap, which starts at `end`, could then grow into the SSRAM2/3 mirror at 0x20400000). crt0
 * calls the weak hook _stack_init right after setting SP, before anything is pushed; this one
 * puts SP back at __StackTop and bounds the heap at __HeapLimit. r0/r1 are caller-saved. */
__attribute__((naked)) void _stack_init(void)
{
    __asm__ volatile("movw r0, #:lower16:__StackTop\n\t"
                     "movt r0, #:upper16:__StackTop\n\t"
                     "mov sp, r0\n\t"
                     "movw r0, #:lower16:__heap_limit\n\t"
                     "movt r0, #:upper16:__heap_limit\n\t"
                     "movw r1, #:lower16:__HeapLimit\n\t"
                     "movt r1, #:upper16:__HeapLimit\n\t"
                     "str r1, [r0]\n\t"
                     "bx lr");
}

/* Core exception vectors (the emulated peripherals' interrupts are never enabled). */
typedef union {
    void (*handler)(void);
    void *sp;
} Vector;

__attribute__((section(".vectors"), used)) static const Vector vectors[16] = {
    {.sp = __StackTop},         /* 0  initial main stack pointer */
    {Reset_Handler},            /* 1  reset */
    {Default_Handler},          /* 2  NMI */
    {Default_Handler},          /* 3  HardFault */
    {Default_Handler},          /* 4  MemManage */
    {Default_Handler},          /* 5  BusFault */
    {Default_Handler},          /* 6  UsageFault */
    {0}, {0}, {0}, {0},         /* 7-10 reserved */
    {Default_Handler},          /* 11 SVCall */
    {Default_Handler},          /* 12 DebugMonitor */
    {0},                        /* 13 reserved */
    {Default_Handler},          /* 14 PendSV */
    {Default_Handler},          /* 15 SysTick */
};
