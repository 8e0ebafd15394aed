#include <sys/types.h>
#include <pocketsphinx.h>
