using System.Text.Json;

namespace Streamboot.Admin.Views;

/// <summary>One audit entry; <see cref="Details"/> is the change's JSON object as it was recorded (null when none).</summary>
public sealed record AuditView(long Id, DateTime At, string Actor, string Action, string Target, JsonElement? Details)
{
    /// <summary>The details as one line of JSON, for tables and text searches.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string DetailsText => Details is { } d ? d.GetRawText() : "";
}
