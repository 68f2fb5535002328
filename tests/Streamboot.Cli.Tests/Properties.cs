// Streamboot runs on Linux; its tests check Linux file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
