namespace Streamboot.Storage.Import;

/// <summary>An import could not run (missing qemu-img, unreadable source); the message says what to do.</summary>
public sealed class ImageImportException : Exception
{
    public ImageImportException(string message)
        : base(message)
    {
    }

    public ImageImportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
