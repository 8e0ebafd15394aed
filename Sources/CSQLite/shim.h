#include <sys/types.h>
#include <sqlite3.h>
