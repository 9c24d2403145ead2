//! Use cases: one function per thing a person, a pipeline or the scheduler
//! does, each in its caller's transaction. The HTTP handlers, the pages'
//! backend, the scheduler and the demo driver call these instead of
//! repeating them.

pub mod trains;
