//! Keeping the Management Shell from outliving edgefed. A shell left
//! running after edgefed is gone could still change the deployment and race
//! the next run. So each shell:
//!
//! - is killed when its round trip is dropped (`kill_on_drop`), which also
//!   covers a timeout and a stopped run;
//! - on Unix, runs in its own process group, and the whole group (the shell
//!   and whatever it started) is killed when the round trip ends; a terminal's
//!   Ctrl-C reaches edgefed only, which then decides;
//! - on Linux, gets SIGKILL when edgefed dies, even by SIGKILL
//!   (`PR_SET_PDEATHSIG`): the kernel sends it when the thread that started
//!   the shell ends, and edgefed starts shells on its runtime's long-lived
//!   threads;
//! - on Windows, is put in a job object that kills every process in it when
//!   its last handle closes: on drop, or when edgefed dies.

/// Sets `command` up so that its process is contained as above.
pub fn contain(command: &mut tokio::process::Command) {
    command.kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid is async-signal-safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the child between fork and exec and
        // only calls async-signal-safe functions (prctl, getppid).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // edgefed died before the request took effect: do not run.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("edgefed ended while the shell was starting"));
                }
                Ok(())
            });
        }
    }
}

/// A started shell's containment: dropping it kills the shell's process
/// group (Unix) or closes its job (Windows).
#[derive(Debug)]
pub struct Contained {
    #[cfg(unix)]
    group: Option<libc::pid_t>,
    #[cfg(windows)]
    job: Option<windows::Job>,
}

impl Contained {
    /// Contains the started `child` (configured with [`contain`]).
    #[must_use]
    pub fn attach(child: &tokio::process::Child) -> Self {
        #[cfg(unix)]
        {
            // The child leads its own group: its group id is its pid.
            Self {
                group: child.id().and_then(|id| libc::pid_t::try_from(id).ok()),
            }
        }
        #[cfg(windows)]
        {
            Self {
                job: child.raw_handle().and_then(windows::Job::kill_on_close),
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _ = child;
            Self {}
        }
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group.take().filter(|g| *g > 1) {
            // SAFETY: kill has no memory effects; a group already gone
            // gives ESRCH, which is fine.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        #[cfg(windows)]
        drop(self.job.take());
    }
}

#[cfg(windows)]
mod windows {
    //! A job object that kills its processes when its handle closes.
    //! Compiled only on Windows; not exercised by the Linux test suite.

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation, SetInformationJobObject,
    };

    #[derive(Debug)]
    pub(super) struct Job(HANDLE);

    impl Job {
        /// A new job with kill-on-close, with `process` in it.
        pub(super) fn kill_on_close(process: std::os::windows::io::RawHandle) -> Option<Self> {
            // SAFETY: null attributes and name create an anonymous job.
            let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            if handle.is_null() {
                tracing::warn!("cannot create a job object for the Management Shell: it may outlive edgefed");
                return None;
            }
            let job = Self(handle);
            // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid.
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
            info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            // SAFETY: the pointer and size describe `info`; the handles are valid.
            let ok = unsafe {
                SetInformationJobObject(
                    job.0,
                    JobObjectExtendedLimitInformation,
                    std::ptr::from_ref(&info).cast(),
                    std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                ) != 0
                    && AssignProcessToJobObject(job.0, process as HANDLE) != 0
            };
            if !ok {
                tracing::warn!("cannot put the Management Shell in a job object: it may outlive edgefed");
                return None;
            }
            Some(job)
        }
    }

    impl Drop for Job {
        fn drop(&mut self) {
            // SAFETY: the handle is owned and closed once; closing the last
            // handle kills the job's processes.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }

    // SAFETY: a job handle may be used and closed from any thread.
    unsafe impl Send for Job {}
    // SAFETY: as above; the handle is not mutated through shared references.
    unsafe impl Sync for Job {}
}
