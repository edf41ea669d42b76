/* Checkpoint image directories (driver.h's hibernate contract), shared by the drivers. */
#ifndef NS_CKPT_FILES_H
#define NS_CKPT_FILES_H

/* Marks a finished image complete (DRIVER_IMAGE_DONE, synced) and also makes it the
 * machine's own checkpoint `own` (hard links; nothing to link when image is own).
 * 0 or -1 (errno). Blocking: helpers only. */
int image_publish(const char *image, const char *own);

#endif
