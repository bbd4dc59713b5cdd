#pragma once
// What ThreadSanitizer cannot see: the kernel sends a request only after
// the replies it depends on (a READDIR after the OPENDIR's reply, a
// RELEASE after the OPEN's, a FORGET after the LOOKUP's), so whatever a
// worker did before replying happens before whatever the worker that
// reads the next request does. Replies release, requests acquire; what a
// worker does after its reply stays unordered, as it is for real. Outside
// TSan builds these are nothing.

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FSPOL_TSAN 1
#endif
#endif

#ifdef FSPOL_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace fspol::runtime {

#ifdef FSPOL_TSAN
inline char kernel_order;
inline void reply_leaves() { __tsan_release(&kernel_order); }
inline void request_arrives() { __tsan_acquire(&kernel_order); }
#else
inline void reply_leaves() {}
inline void request_arrives() {}
#endif

}  // namespace fspol::runtime
