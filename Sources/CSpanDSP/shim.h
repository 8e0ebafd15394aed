// spandsp's umbrella header pulls in <tiffio.h> (libtiff-dev comes with libspandsp-dev).
#include <sys/types.h>
#include <stdint.h>
#include <spandsp.h>
