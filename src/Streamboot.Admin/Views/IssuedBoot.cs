using System.Text.Json.Serialization;

namespace Streamboot.Admin.Views;

/// <summary>A boot an admin issued (<c>session key</c>): the disk view to open (<c>VDISK/DEVICE/KEY</c>) and its parts.</summary>
public sealed record IssuedBoot(string View, string Device, [property: JsonPropertyName("vdisk")] string VDisk, int Version, string Key);
