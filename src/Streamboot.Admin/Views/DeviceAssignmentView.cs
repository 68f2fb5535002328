using System.Text.Json.Serialization;

namespace Streamboot.Admin.Views;

public sealed record DeviceAssignmentView([property: JsonPropertyName("vdisk")] string VDisk, bool IsDefault, int Position);
