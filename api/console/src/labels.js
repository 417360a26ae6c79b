/* Chinese labels for the codes the API uses: one module for now; a later step reads them from
 * an API dictionary endpoint (数据字典) instead. */

export const APP_TITLE = '窗口服务录音管理台'

export const ROLE = { admin: '管理员', supervisor: '主管', viewer: '查看员' }
export const FLAG_TYPE = { forbidden: '服务忌语', missing_courtesy: '缺少文明用语', audio: '语音行为' }
export const REVIEW_STATE = { open: '待审核', confirmed: '已确认', dismissed: '已驳回' }
export const SPEAKER = { staff: '工作人员', customer: '客户' }
export const ALARM = {
  'silent-microphone': '麦克风无声', 'agent-gone': '采集端离线', 'spool-near-quota': '缓存将满',
  'spool-full': '缓存已满', 'store-unreachable': '存储不可达', 'screen-gone': '屏幕离线',
}
export const AGENT_STATUS = {
  unknown: '未知', ok: '正常', 'spool-near-quota': '缓存将满', 'spool-full': '缓存已满（正在丢弃新录音）',
  'store-unreachable': '存储不可达（正在重试上传）',
}
/** Customer rating levels, best first (the API's own words). */
export const RATING_LEVELS = ['非常满意', '满意', '一般', '不满意']
export const RATING_COLORS = ['#2e7d32', '#81c784', '#ffb74d', '#e53935']
export const COMPLAINT_STATE = { open: '待答复', answered: '已答复', overdue: '已超期' }

/* 屏幕节目 */
export const CONTENT_KIND = { video: '视频', image: '图片', text: '文字公告' }
export const SCREEN_SHOWS = { playlist: '排期节目', interrupt: '紧急通知', default: '默认画面' }
export const PLAY_STATUS = { played: '已播放', skipped: '已跳过' }
export const WEEKDAYS = ['一', '二', '三', '四', '五', '六', '日'] // 0 = Monday, as the API
export const SIGNAGE_TABS = [
  ['screens', '屏幕'], ['content', '素材库'], ['playlists', '播放列表'], ['schedules', '排期'],
  ['interrupts', '紧急通知'], ['preview', '预览与播放记录'],
]

/** Codes in the API's error answers ({code, reason, ...}). */
export const ERROR_CODE = {
  conflict: '时间冲突', login_throttled: '登录失败次数过多，请稍后再试',
  csrf_refused: '请求来源未通过安全检查，请刷新页面后重试', bad_range: '时间或日期范围无效', unknown_playlist: '播放列表不存在',
  unknown_content: '素材不存在', empty_playlist: '播放列表为空', bad_item: '播放时长无效',
  no_target: '未选择屏幕或分组', bad_weekdays: '星期无效', in_use: '仍在使用中', name_taken: '名称已被使用',
}

/** A Chinese sentence per HTTP status of a failed call. */
export const HTTP_STATUS = {
  0: '无法连接服务器，请检查网络后重试',
  400: '请求有误',
  401: '用户名或密码错误，或会话已过期',
  403: '没有权限执行此操作',
  404: '找不到所请求的记录（可能已被删除，或不属于您可查看的服务点）',
  409: '与现有记录冲突',
  413: '文件或数据过大',
  415: '不支持的文件格式',
  416: '请求的录音范围无效',
  422: '输入的内容不符合要求',
  429: '请求过于频繁，请稍后再试',
  500: '服务器内部错误',
  502: '存储服务拒绝了请求',
  503: '服务暂时不可用，请稍后再试',
  504: '服务器响应超时',
}

/** Field names in validation errors (FastAPI's `loc`). */
export const FIELD = {
  name: '名称', password: '密码', site: '服务点', q: '检索内容', counter: '窗口', summary: '投诉内容',
  complainant: '投诉人', interaction_id: '录音编号', due_s: '答复期限', finding: '处理结果', note: '审核意见',
  month: '月份', title: '标题', body: '正文', groups: '分组', items: '节目单', duration_s: '时长',
  content_id: '素材', playlist_id: '播放列表', screens: '屏幕', weekdays: '星期', start_time: '开始时间',
  end_time: '结束时间', start_date: '开始日期', end_date: '结束日期', priority: '优先级', at: '时间',
}

export const label = (table, code) => (code in table ? table[code] : code)
