// How the daemon's allocator treats the buffers a vendor call passes through.
#pragma once

namespace switchboard::core {

// A call of 1000 recipients goes through buffers of 100 to 300 KB (documents, the parsed batch,
// the request, the answer, the outcomes), all freed when the call is done. glibc serves blocks of
// that size with mmap, or returns them to the kernel when they sit at the top of the heap, so
// every call paid for fresh zeroed pages: a third of a codec's time. This keeps blocks under
// 1 MiB in the heap and up to 4 MiB of free memory per arena before giving it back. Does nothing
// when GLIBC_TUNABLES sets malloc tunables, or a MALLOC_*_ variable is set: the operator's choice
// stands. Call once at start.
void tune_allocator_for_calls();

} // namespace switchboard::core
