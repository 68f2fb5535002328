// Debian packages run on Linux; the tests check Linux file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
