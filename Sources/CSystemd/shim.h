// sd_journal_sendv without the CODE_FILE/CODE_LINE/CODE_FUNC macro wrapper: the Swift
// call site is the logger, not the code that logged, so those fields would mislead.
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <sys/types.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
