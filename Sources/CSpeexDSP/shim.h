#include <sys/types.h>
#include <speex/speex_resampler.h>
