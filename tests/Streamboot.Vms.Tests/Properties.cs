// The VM tests run QEMU, unix sockets and /proc: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
