namespace Streamboot.Sessions.Decisions;

/// <summary>The files a vDisk may keep beside its images, in <c>STORE/boot/</c>: what makes its boot a kernel boot.</summary>
public static class BootFileNames
{
    public const string Folder = "boot";
    public const string Kernel = "vmlinuz";
    public const string Initrd = "initrd.img";

    /// <summary>Extra kernel parameters, words separated by blanks.</summary>
    public const string Cmdline = "cmdline";

    public static string KernelOf(string storeFolder) => Path.Combine(storeFolder, Folder, Kernel);
}
