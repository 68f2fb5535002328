// Streamboot serves Linux; these tests read file modes and bind loopback addresses.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
