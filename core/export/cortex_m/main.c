/* A minimal firmware around the exported NAME: runs it once on the zero input and prints the stage
 * and the output codes (through semihosting when linked with --specs=rdimon.specs, under QEMU). */
#include <stdio.h>

#include "NAME.h"

static int8_t input[NAME_INPUT_SIZE];
static int8_t output[NAME_OUTPUT_SIZE];

int main(void)
{
    int i;
    const int stage = NAME_run(input, output);
    printf("stage %d, output", stage);
    for (i = 0; i < NAME_OUTPUT_SIZE; ++i) printf(" %d", output[i]);
    printf("\n");
    return 0;
}
